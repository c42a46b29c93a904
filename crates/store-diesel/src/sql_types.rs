//! Portable SQL types: one `table!` schema that means `uuid`/`timestamptz` on
//! PostgreSQL and canonical `TEXT` on SQLite (see ADR 0001).
//!
//! Both types keep the *ordering* of the database the same on both backends:
//! a lower-case hyphenated UUID sorts as text exactly as PostgreSQL sorts
//! `uuid` (byte order), and a fixed-width RFC 3339 UTC timestamp with six
//! fractional digits sorts as text exactly as `timestamptz` sorts by instant.
//! Keyset pagination and `<=` comparisons therefore behave identically.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{SqlType, Text};
use diesel::sqlite::{Sqlite, SqliteValue};
use uuid::Uuid;

/// A UUID column: `uuid` on PostgreSQL, hyphenated lower-case `TEXT` on SQLite.
#[derive(Debug, Clone, Copy, Default, SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 2950, array_oid = 2951))]
#[diesel(sqlite_type(name = "Text"))]
pub struct PortableUuid;

/// An instant: `timestamptz` on PostgreSQL, `TEXT` such as
/// `2026-11-26T10:00:00.000000Z` on SQLite. Microsecond precision on both.
#[derive(Debug, Clone, Copy, Default, SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Text"))]
pub struct PortableTs;

/// A UUID as bound to or read from a [`PortableUuid`] column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = PortableUuid)]
pub struct DbUuid(pub Uuid);

/// An instant as bound to or read from a [`PortableTs`] column. Built only
/// through [`DbTime::from`], which truncates to whole microseconds so that a
/// value reads back equal to what was written on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = PortableTs)]
pub struct DbTime(DateTime<Utc>);

impl DbTime {
    /// The instant.
    pub fn get(self) -> DateTime<Utc> {
        self.0
    }

    /// The SQLite spelling: fixed width, so text order is time order.
    fn to_text(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

impl From<DateTime<Utc>> for DbTime {
    fn from(at: DateTime<Utc>) -> Self {
        Self(at.trunc_subsecs(6))
    }
}

impl From<Uuid> for DbUuid {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

macro_rules! from_id {
    ($($id:ty),*) => {$(
        impl From<$id> for DbUuid {
            fn from(id: $id) -> Self {
                Self(id.as_uuid())
            }
        }
    )*};
}
from_id!(
    beckon_ports::TenantId,
    beckon_ports::UserId,
    beckon_ports::ApiKeyId,
    beckon_ports::OutboxId
);

impl ToSql<PortableUuid, Pg> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <Uuid as ToSql<diesel::sql_types::Uuid, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<PortableUuid, Pg> for DbUuid {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        <Uuid as FromSql<diesel::sql_types::Uuid, Pg>>::from_sql(bytes).map(Self)
    }
}

impl ToSql<PortableUuid, Sqlite> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<PortableUuid, Sqlite> for DbUuid {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(Self(Uuid::try_parse(&text)?))
    }
}

impl ToSql<PortableTs, Pg> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <DateTime<Utc> as ToSql<diesel::sql_types::Timestamptz, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<PortableTs, Pg> for DbTime {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        <DateTime<Utc> as FromSql<diesel::sql_types::Timestamptz, Pg>>::from_sql(bytes).map(Self)
    }
}

impl ToSql<PortableTs, Sqlite> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.to_text());
        Ok(IsNull::No)
    }
}

impl FromSql<PortableTs, Sqlite> for DbTime {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        let at = DateTime::parse_from_rfc3339(&text)?.with_timezone(&Utc);
        Ok(Self::from(at))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sqlite_timestamps_are_fixed_width_so_text_order_is_time_order() {
        let early = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let late = early + chrono::Duration::nanoseconds(1_500);
        let (a, b) = (DbTime::from(early).to_text(), DbTime::from(late).to_text());
        assert_eq!(a, "2026-01-02T03:04:05.000000Z");
        assert_eq!(b, "2026-01-02T03:04:05.000001Z");
        assert!(a < b);
    }
}
