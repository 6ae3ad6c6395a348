//! The web UI's assets: plain HTML, CSS and JavaScript embedded in the binary (no build
//! step). One page serves both the live server (the script reads `/api/v1`) and the
//! self-contained HTML report (the script reads the JSON inlined in the page).

const INDEX_HTML: &str = include_str!("index.html");
pub const APP_CSS: &str = include_str!("app.css");
pub const APP_JS: &str = include_str!("app.js");

/// Where the page gets its data.
pub enum Mode<'a> {
    /// From the server's API.
    Server,
    /// From this JSON (`{"runs": [...], "traces": {id: trace}}`), inlined in the page.
    Inline(&'a serde_json::Value),
}

/// The whole page, assets inline.
pub fn page(mode: &Mode<'_>) -> String {
    let data = match mode {
        Mode::Server => "null".to_string(),
        // `</` would end the script element early; `<\/` is the same JSON string.
        Mode::Inline(data) => data.to_string().replace("</", "<\\/"),
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

    #[test]
    fn page_inlines_assets_and_escapes_data() {
        let data = serde_json::json!({ "runs": [], "traces": {}, "x": "</script><b>" });
        let page = page(&Mode::Inline(&data));
        assert!(page.contains("function route()"));
        assert!(page.contains("--row: 24px"));
        assert!(!page.contains("</script><b>"));
        assert!(page.contains(r#"<\/script><b>"#));
        assert!(!page.contains("/*JS*/") && !page.contains("/*DATA*/"));
        // The budget the issue sets for the embedded assets.
        assert!(INDEX_HTML.len() + APP_CSS.len() + APP_JS.len() < 200 * 1024);
    }
}
