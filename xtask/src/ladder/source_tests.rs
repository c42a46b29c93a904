//! The source scan: framework paths in code fail, mentions elsewhere pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::ladder::FRAMEWORKS;

fn idents(src: &str) -> Vec<(usize, String)> {
    scan(src, &FRAMEWORKS)
        .into_iter()
        .map(|f| (f.line, f.ident))
        .collect()
}

#[test]
fn framework_paths_in_code_are_found() {
    let cases = [
        ("use diesel::prelude::*;", "diesel"),
        ("use lettre;", "lettre"),
        ("pub(crate) use lettre as mail;", "lettre"),
        ("use ::diesel_async::RunQueryDsl;", "diesel_async"),
        ("use {std::sync::Arc, cedar_policy};", "cedar_policy"),
        ("extern crate diesel;", "diesel"),
        (
            "fn f() -> cedar_policy::Decision { todo!() }",
            "cedar_policy",
        ),
        ("let x = ::actix_web::HttpResponse::Ok();", "actix_web"),
        ("#[actix_web::main]\nasync fn main() {}", "actix_web"),
        ("#[diesel(table_name = users)]\nstruct Row;", "diesel"),
        ("type T = Vec<diesel::result::Error>;", "diesel"),
        ("let e = r#lettre::Message::builder();", "lettre"),
    ];
    for (src, ident) in cases {
        assert_eq!(idents(src), [(1, ident.to_owned())], "{src}");
    }
}

#[test]
fn mentions_in_comments_doc_comments_and_strings_pass() {
    let src = r####"//! Implemented by beckon-store-diesel (`diesel::` lives there).
/// Unlike `use lettre::Message`, this stays abstract.
/* a block comment: diesel::x /* nested: cedar_policy::y */ still comment: actix_web::z */
/** block doc: lettre::Transport */
fn f() -> &'static str {
    let _ = "use diesel::prelude::*;";
    let _ = "escaped \" quote then diesel::x";
    let _ = r#"raw "quoted" cedar_policy::Entity"#;
    let _ = br##"raw bytes lettre::x"##;
    let _ = b"bytes actix_web::x";
    "beckon-store-diesel"
}
"####;
    assert_eq!(idents(src), []);
}

#[test]
fn lookalike_identifiers_are_not_frameworks() {
    let src = "
        let cedarish = 1;
        let dieselfuel::x = 2;
        let diesel_count = 3;
        let total = self.diesel + diesel_count;
        let p = crate::policy::cedar_rules();
        use crate::adapters::{lettre_like, diesel_rows};
        match x { Kind::Diesel => {} }
    ";
    assert_eq!(idents(src), []);
}

#[test]
fn lifetimes_and_char_literals_do_not_derail_the_scan() {
    let src = "fn f<'a>(s: &'a str) -> char {\n    let _ = '\"';\n    let _ = '\\'';\n    let _ = '\\u{1F600}';\n    'x'\n}\nuse diesel::Connection;\n";
    assert_eq!(idents(src), [(7, "diesel".to_owned())]);
}

#[test]
fn findings_carry_the_line_number_and_the_line_as_written() {
    let src = "//! Mod.\n\n/// Doc.\nfn f() {\n    diesel::delete(users);\n}\n";
    let found = scan(src, &FRAMEWORKS);
    assert_eq!(
        found,
        [Finding {
            line: 5,
            ident: "diesel".to_owned(),
            code: "diesel::delete(users);".to_owned(),
        }]
    );
}

#[test]
fn code_only_keeps_code_and_line_breaks_and_blanks_the_rest() {
    let cleaned = code_only("a // b\n\"c\nd\" e /* f */ g");
    assert_eq!(cleaned.lines().count(), 3);
    assert_eq!(
        cleaned.split_whitespace().collect::<Vec<_>>(),
        ["a", "e", "g"]
    );
}
