//! Finds framework crates named in Rust code — as a path (`diesel::`,
//! `::diesel::`), in a `use` or `extern crate`, or as an attribute
//! (`#[diesel(…)]`) — while mentions in comments, doc comments and string
//! literals pass.

/// One place where code names a framework.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line.
    pub line: usize,
    /// The identifier (`diesel`, `cedar_policy`, …).
    pub ident: String,
    /// The line as written, trimmed.
    pub code: String,
}

/// Every place `src` names one of `frameworks` (crate-name prefixes: `diesel`
/// matches `diesel` and `diesel_async`, not `dieselish`).
pub fn scan(src: &str, frameworks: &[&str]) -> Vec<Finding> {
    let code = code_only(src);
    let toks = tokens(&code);
    let lines: Vec<&str> = src.lines().collect();
    let is_framework = |ident: &str| {
        frameworks.iter().any(|f| {
            ident == *f
                || ident
                    .strip_prefix(f)
                    .is_some_and(|rest| rest.starts_with('_'))
        })
    };
    let at = |k: usize, back: usize| k.checked_sub(back).and_then(|i| toks.get(i));
    let is_ident = |t: Option<&Tok>, name: &str| matches!(t, Some(Tok { kind: Kind::Ident(i), .. }) if i == name);
    let is_punct =
        |t: Option<&Tok>, c: char| matches!(t, Some(Tok { kind: Kind::Punct(p), .. }) if *p == c);
    let is_sep = |t: Option<&Tok>| {
        matches!(
            t,
            Some(Tok {
                kind: Kind::PathSep,
                ..
            })
        )
    };

    let mut findings = Vec::new();
    let mut in_use = false;
    let mut depth = 0usize;
    let mut root_group = false;
    for (k, tok) in toks.iter().enumerate() {
        match &tok.kind {
            Kind::Ident(i) if i == "use" => (in_use, depth, root_group) = (true, 0, false),
            Kind::Ident(i) if i == "crate" && is_ident(at(k, 1), "extern") => {
                (in_use, depth, root_group) = (true, 0, false);
            }
            Kind::Punct(';') => in_use = false,
            Kind::Punct('{') if in_use => {
                depth += 1;
                // `use {a, b}` or `use ::{a, b}`: the group's items are crates.
                if depth == 1
                    && (is_ident(at(k, 1), "use")
                        || (is_sep(at(k, 1)) && is_ident(at(k, 2), "use")))
                {
                    root_group = true;
                }
            }
            Kind::Punct('}') if in_use => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    root_group = false;
                }
            }
            Kind::Ident(ident) if is_framework(ident) => {
                let prev = at(k, 1);
                let path_start = is_sep(at(k + 1, 0)) && !is_sep(prev);
                let leading_sep = is_sep(prev)
                    && !matches!(
                        at(k, 2),
                        Some(Tok {
                            kind: Kind::Ident(_),
                            ..
                        })
                    )
                    && !is_punct(at(k, 2), '>');
                let use_start = in_use
                    && (is_ident(prev, "use")
                        || is_ident(prev, "crate")
                        || (is_sep(prev) && is_ident(at(k, 2), "use"))
                        || (root_group
                            && depth == 1
                            && (is_punct(prev, '{') || is_punct(prev, ','))));
                let attribute = is_punct(prev, '[')
                    && (is_punct(at(k, 2), '#')
                        || (is_punct(at(k, 2), '!') && is_punct(at(k, 3), '#')));
                if path_start || leading_sep || use_start || attribute {
                    let code = lines.get(tok.line - 1).map_or("", |l| l.trim());
                    findings.push(Finding {
                        line: tok.line,
                        ident: ident.clone(),
                        code: code.to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
    findings
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Ident(String),
    /// `::`
    PathSep,
    /// Any other single character (numbers and the like are dropped).
    Punct(char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    kind: Kind,
    line: usize,
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Tokens of code that `code_only` has already cleaned.
fn tokens(code: &str) -> Vec<Tok> {
    let chars: Vec<char> = code.chars().collect();
    let mut toks = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if is_ident_char(c) {
            let start = i;
            while chars.get(i).is_some_and(|&c| is_ident_char(c)) {
                i += 1;
            }
            if !c.is_ascii_digit() {
                let ident = chars.get(start..i).unwrap_or_default().iter().collect();
                toks.push(Tok {
                    kind: Kind::Ident(ident),
                    line,
                });
            }
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            toks.push(Tok {
                kind: Kind::PathSep,
                line,
            });
            i += 2;
        } else {
            toks.push(Tok {
                kind: Kind::Punct(c),
                line,
            });
            i += 1;
        }
    }
    toks
}

/// `src` with comments and the contents of string and char literals turned
/// into spaces; newlines stay, so lines keep their numbers.
pub(crate) fn code_only(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, chars: &[char]| {
        for &ch in chars {
            out.push(if ch == '\n' { '\n' } else { ' ' });
        }
    };
    let mut i = 0;
    while let Some(&ch) = c.get(i) {
        let next = c.get(i + 1).copied();
        let end = if ch == '/' && next == Some('/') {
            // Line comment, doc comments included.
            c.iter()
                .skip(i)
                .position(|&x| x == '\n')
                .map_or(c.len(), |p| i + p)
        } else if ch == '/' && next == Some('*') {
            block_comment_end(&c, i)
        } else if let Some(end) = raw_string_end(&c, i) {
            end
        } else if ch == '"' {
            string_end(&c, i)
        } else if ch == '\'' {
            match char_literal_end(&c, i) {
                Some(end) => end,
                None => i + 1, // a lifetime or label: keep the quote
            }
        } else {
            out.push(ch);
            i += 1;
            continue;
        };
        if ch == '\'' && end == i + 1 {
            out.push('\'');
        } else {
            blank(&mut out, c.get(i..end).unwrap_or_default());
        }
        i = end;
    }
    out
}

/// Block comments nest in Rust.
fn block_comment_end(c: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < c.len() {
        match (c.get(i), c.get(i + 1)) {
            (Some('/'), Some('*')) => {
                depth += 1;
                i += 2;
            }
            (Some('*'), Some('/')) => {
                depth = depth.saturating_sub(1);
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    c.len()
}

/// `"…"` with escapes; `start` is the opening quote.
fn string_end(c: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(&ch) = c.get(i) {
        match ch {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    c.len()
}

/// `r"…"`, `r#"…"#`, `br##"…"##` starting at `start`, if one starts there.
fn raw_string_end(c: &[char], start: usize) -> Option<usize> {
    let prefix_start = match (start.checked_sub(1).and_then(|p| c.get(p)), c.get(start)) {
        (Some('b' | 'c'), Some('r')) => start - 1,
        (_, Some('r')) => start,
        _ => return None,
    };
    let before = prefix_start.checked_sub(1).and_then(|p| c.get(p));
    if before.is_some_and(|&b| is_ident_char(b)) {
        return None; // `bar"`, not a raw string
    }
    let hashes = c.iter().skip(start + 1).take_while(|&&x| x == '#').count();
    let quote = start + 1 + hashes;
    if c.get(quote) != Some(&'"') {
        return None; // a raw identifier (`r#type`) or plain `r`
    }
    let mut i = quote + 1;
    while i < c.len() {
        if c.get(i) == Some(&'"')
            && c.iter()
                .skip(i + 1)
                .take(hashes)
                .filter(|&&x| x == '#')
                .count()
                == hashes
        {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    Some(c.len())
}

/// `'x'`, `'\n'`, `'\u{1F600}'`, `'"'`; `None` for a lifetime or label.
fn char_literal_end(c: &[char], start: usize) -> Option<usize> {
    match (c.get(start + 1), c.get(start + 2)) {
        (Some('\\'), _) => {
            let close = c.iter().skip(start + 3).position(|&x| x == '\'')?;
            Some(start + 3 + close + 1)
        }
        (Some(_), Some('\'')) => Some(start + 3),
        _ => None,
    }
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
