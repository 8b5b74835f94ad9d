//! A row's columns by name and type, in either engine: the row readers say what they read, and
//! sqlx's bounds for reading it are written here once (a bound on another type than the one
//! bounded is not implied in Rust, so each generic reader would otherwise repeat them all).

use sqlx::{ColumnIndex, Decode, Row, Type};

use chrono::{DateTime, Utc};

use crate::store::{StoreError, from_millis};

pub(crate) trait Columns {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn maybe_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn maybe_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError>;

    /// A time stored as milliseconds since the epoch.
    fn time(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        from_millis(self.int(column)?)
    }

    fn maybe_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.maybe_int(column)?.map(from_millis).transpose()
    }
}

impl<R: Row> Columns for R
where
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'c> &'c str: ColumnIndex<R>,
{
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn maybe_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn maybe_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        Ok(self.try_get(column)?)
    }
}
