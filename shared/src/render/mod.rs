//! What people read outside the JSON API: printable HTML and CSV, built from domain values.

pub mod csv;
pub mod html;
