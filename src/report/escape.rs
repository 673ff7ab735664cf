//! Escaping for the markup writers: all dataset text passes through here.

/// Escapes text for HTML and XML content and attribute values.
pub fn markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a Markdown table cell: `&` and `<` (so no HTML tag can open), backslashes,
/// pipes and line breaks. `>` stays readable: alone it opens nothing.
pub fn markdown_cell(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_script_tags_and_quotes() {
        assert_eq!(markup("<script>alert('x') & \"y\"</script>"), "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
        assert_eq!(markdown_cell("a|b\nc"), "a\\|b c");
        assert_eq!(markdown_cell("<b> >= 1 & 2"), "&lt;b> >= 1 &amp; 2");
        assert_eq!(markup("a\u{1}b"), "a b");
    }
}
