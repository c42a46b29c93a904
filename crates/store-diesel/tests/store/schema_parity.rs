//! The two migration folders must build the same tables, columns and
//! indexes: the one `table!` schema is only right if they agree.

use diesel::QueryableByName;
use diesel::sql_types::{Bool, Text};
use diesel_async::RunQueryDsl;

use crate::support::TestDb;

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    #[diesel(sql_type = Text)]
    name: String,
}

const SQLITE_COLUMNS: &str = "SELECT m.name AS table_name, p.name AS column_name, p.\"notnull\" AS not_null \
     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1, 2";
const PG_COLUMNS: &str = "SELECT table_name::text AS table_name, column_name::text AS column_name, \
     (is_nullable = 'NO') AS not_null FROM information_schema.columns \
     WHERE table_schema = current_schema() ORDER BY 1, 2";
// Explicitly created indexes (not the ones behind PRIMARY KEY / UNIQUE).
const SQLITE_INDEXES: &str =
    "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY 1";
const PG_INDEXES: &str = "SELECT indexname::text AS name FROM pg_indexes \
     WHERE schemaname = current_schema() \
     AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY 1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_migration_folders_define_the_same_tables_columns_and_indexes() {
    let (_sqlite_store, sqlite) = TestDb::sqlite().await;
    let Some((_pg_store, pg)) = TestDb::postgres().await else {
        eprintln!("BECKON_TEST_DATABASE_URL unset: skipped");
        return;
    };
    let (mut s, mut p) = (sqlite.connect_sqlite().await, pg.connect_pg().await);

    let sqlite_cols: Vec<Column> = diesel::sql_query(SQLITE_COLUMNS)
        .load(&mut s)
        .await
        .unwrap();
    let pg_cols: Vec<Column> = diesel::sql_query(PG_COLUMNS).load(&mut p).await.unwrap();
    assert!(sqlite_cols.len() > 40, "{sqlite_cols:?}");
    assert_eq!(sqlite_cols, pg_cols);

    let sqlite_idx: Vec<Index> = diesel::sql_query(SQLITE_INDEXES)
        .load(&mut s)
        .await
        .unwrap();
    let pg_idx: Vec<Index> = diesel::sql_query(PG_INDEXES).load(&mut p).await.unwrap();
    assert!(!sqlite_idx.is_empty());
    assert_eq!(sqlite_idx, pg_idx);
}
