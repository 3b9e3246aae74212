mod cli;
mod generic;
mod observability;
mod openapi;
mod security;
mod shopify;
mod whatsapp;
mod woocommerce;
