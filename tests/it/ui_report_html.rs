//! `run --report-html` with the embedded ingestor (the browser test covers `--server`): the
//! demo transaction's page holds every asset and each step's judged trace inline.

use serde_json::Value;

use crate::support::{demo, demo_file, free_addr, tracecheck, vars_file, Files};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_run_writes_a_self_contained_page_with_its_traces() {
    let grpc = free_addr();
    let service = demo::start(&format!("http://{grpc}")).await.expect("demo service");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let page_path = files.path("report.html");
    let flow = demo_file("user-flow.yaml");
    let output = tracecheck()
        .args(["run", &flow, "--vars", &vars, "-o", "json", "--report-html", &page_path])
        .args(["--grpc-addr", &grpc.to_string(), "--http-addr", "127.0.0.1:0", "--settle", "200ms"])
        .output()
        .await;
    output.assert_code(0);
    let report: Value = serde_json::from_slice(&output.stdout).expect("json report");

    let page = std::fs::read_to_string(&page_path).expect("page written");
    let start = page.find(r#"<script id="tc-data" type="application/json">"#).expect("inline data") + 45;
    let end = start + page[start..].find("</script>").expect("end of data");
    let data: Value = serde_json::from_str(&page[start..end]).expect("inline JSON");
    // The inlined report is the returned one, which also names its file.
    let mut inlined = data["runs"][0]["report"].clone();
    assert_eq!(inlined["file"], flow.as_str());
    inlined.as_object_mut().expect("object").remove("file");
    let mut printed = report.clone();
    printed.as_object_mut().expect("object").remove("file");
    assert!(inlined == printed, "the report is inlined as the JSON report prints it");
    for step in report["steps"].as_array().expect("steps") {
        let trace_id = step["trace_id"].as_str().expect("trace id");
        let trace = &data["traces"][trace_id];
        assert_eq!(trace["span_count"], step["span_count"], "{trace_id} is inline with every span");
        assert_eq!(trace["spans"][0]["depth"], 0);
    }
    crate::ui_js::Wire::load().assert(&data, "InlineData");
    assert!(page.contains("function route()"), "the script is inline");
    for external in ["src=\"http", "href=\"http", "<link", "src=\"/"] {
        assert!(!page.contains(external), "nothing is loaded from outside ({external})");
    }
}
