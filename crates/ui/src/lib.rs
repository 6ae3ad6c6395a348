//! The web UI: one HTML page with its CSS and script inline, for `serve` (the script reads
//! `/api/v1`) and for `run --report-html` (the script reads the JSON inlined in the page).
//! It knows no HTTP and no trace types: the server serves [`page`], the report passes its
//! JSON in.
//!
//! The script is written as small ES modules in `js/` (data adapters, pure layout modules
//! with `node --test` tests beside them, one module per view) and joined into one script at
//! build time by `build.rs` (`src/join.rs` says how), so building needs no npm.

#[cfg(test)]
mod join;

const INDEX_HTML: &str = include_str!("index.html");
const APP_CSS: &str = include_str!("app.css");
const APP_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/app.js"));

/// Where the page gets its data.
pub enum Mode<'a> {
    /// From the server's API.
    Server,
    /// From this JSON (`{"runs": [...], "traces": {id: trace}}`), inlined in the page.
    Inline(&'a serde_json::Value),
}

/// `data` as JSON that is safe inside a `<script>` element: every `<` is written `\u003c`
/// (the same JSON string), so no value (`</script>`, `<!--<script>`) can end or derail the
/// element. `<` only ever occurs inside JSON strings, where the escape is valid.
pub fn inline_json(data: &serde_json::Value) -> String {
    data.to_string().replace('<', "\\u003c")
}

/// The whole page, assets inline.
pub fn page(mode: &Mode<'_>) -> String {
    let data = match mode {
        Mode::Server => "null".to_string(),
        Mode::Inline(data) => inline_json(data),
    };
    // Replaced in this order so that nothing inserted is scanned for a later marker.
    let (head, rest) = INDEX_HTML.split_once("/*CSS*/").unwrap_or((INDEX_HTML, ""));
    let (middle, rest) = rest.split_once("/*DATA*/").unwrap_or((rest, ""));
    let (before_js, after_js) = rest.split_once("/*JS*/").unwrap_or((rest, ""));
    let mut page = String::with_capacity(INDEX_HTML.len() + APP_CSS.len() + APP_JS.len() + data.len());
    for part in [head, APP_CSS, middle, &data, before_js, APP_JS, after_js] {
        page.push_str(part);
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of the element that starts with `open`, up to the first `</script`.
    fn element<'p>(page: &'p str, open: &str) -> &'p str {
        let start = page.find(open).expect("element") + open.len();
        &page[start..start + page[start..].find("</script").expect("end of element")]
    }

    #[test]
    fn page_inlines_assets_and_escapes_every_less_than_in_data() {
        let hostile = ["</script><b>", "<!--<script>", "</SCRIPT >", "a<b"];
        let data = serde_json::json!({ "runs": [], "traces": {}, "attributes": hostile });
        let page = page(&Mode::Inline(&data));
        assert!(page.contains("function route()"));
        assert!(page.contains("--row: 24px"));
        assert!(!page.contains("/*JS*/") && !page.contains("/*DATA*/") && !page.contains("/*CSS*/"));
        let inline = element(&page, r#"<script id="tc-data" type="application/json">"#);
        assert!(!inline.contains('<'), "no `<` inside the data element: {inline}");
        let parsed: serde_json::Value = serde_json::from_str(inline).expect("still JSON");
        assert_eq!(parsed, data, "the escape changes no value");
        // Everything after the data is the page's own markup and script, intact.
        let script = element(&page, "<script>\n");
        assert_eq!(script.trim_end(), APP_JS.trim_end());
        // The budget the issue sets for the embedded assets.
        assert!(INDEX_HTML.len() + APP_CSS.len() + APP_JS.len() < 200 * 1024);
    }

    #[test]
    fn the_server_page_has_no_data() {
        let page = page(&Mode::Server);
        assert_eq!(element(&page, r#"<script id="tc-data" type="application/json">"#), "null");
    }

    #[test]
    fn no_asset_can_end_its_element() {
        assert!(!APP_CSS.to_ascii_lowercase().contains("</style"));
        let script = APP_JS.to_ascii_lowercase();
        assert!(!script.contains("</script") && !script.contains("<!--"));
    }
}
