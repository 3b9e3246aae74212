mod cli;
mod generic;
mod observability;
mod security;
mod shopify;
mod whatsapp;
mod woocommerce;
