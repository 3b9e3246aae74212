//! Reading single cells. Each function takes the cell as written and returns the value or a
//! message for the merchant; the caller adds the line, the column and the shown value.

mod contact;
mod dates;
mod numbers;
mod words;

pub(crate) use contact::{country, email, phone, web_address};
pub(crate) use dates::datetime;
pub(crate) use numbers::{currency, minor_unit_digits, money, quantity};
pub(crate) use words::{fold_word, yes_no};
