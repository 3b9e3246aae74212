//! Scraping against real HTTP servers on 127.0.0.1.

mod guard;
mod limits;
mod pages;
mod redirects;
mod robots;
mod support;
