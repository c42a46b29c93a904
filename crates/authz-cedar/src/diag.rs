//! Turns Cedar's diagnostics into plain lines an operator can act on:
//! `file:line:column: message`, followed by Cedar's help when it has some.
//!
//! Cedar's `Display` gives only the headline; the place and the hint ("did
//! you mean …") live in the `miette::Diagnostic` side, which a log line or a
//! terminal without miette's graphical handler would otherwise lose.

use miette::Diagnostic;

/// Renders `diag` (and the diagnostics related to it, as a parse error with
/// several problems has) found in the file `file` whose text is `src`.
pub(crate) fn render(diag: &dyn Diagnostic, file: &str, src: &str) -> String {
    let mut out = String::new();
    render_one(diag, file, src, &mut out);
    if let Some(related) = diag.related() {
        for other in related {
            out.push('\n');
            render_one(other, file, src, &mut out);
        }
    }
    out
}

/// One line for a diagnostic without a file: headline, causes, help.
pub(crate) fn describe(diag: &dyn Diagnostic) -> String {
    let mut out = diag.to_string();
    push_causes(diag, &mut out);
    if let Some(help) = diag.help() {
        out.push_str(&format!(" (help: {help})"));
    }
    out
}

fn render_one(diag: &dyn Diagnostic, file: &str, src: &str, out: &mut String) {
    let first_label = diag.labels().and_then(|mut labels| labels.next());
    match first_label {
        Some(label) => {
            let (line, column) = line_column(src, label.offset());
            out.push_str(&format!("{file}:{line}:{column}: {diag}"));
            if let Some(text) = label.label() {
                out.push_str(&format!(" ({text})"));
            }
        }
        None => out.push_str(&format!("{file}: {diag}")),
    }
    push_causes(diag, out);
    if let Some(help) = diag.help() {
        out.push_str(&format!("\n  help: {help}"));
    }
}

/// Some errors keep the specific reason in their source chain only.
fn push_causes(diag: &dyn Diagnostic, out: &mut String) {
    let mut source = std::error::Error::source(diag);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(&format!(": {text}"));
        }
        source = cause.source();
    }
}

/// 1-based line and column (in characters) of a byte offset; an offset past
/// the end (or inside a character) is clamped rather than trusted.
pub(crate) fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(src.len());
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    let before = &src[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
