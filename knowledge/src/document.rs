//! A product's knowledge, as the scraper, the merchant API and order payloads give it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a section of product text is about. Chunks keep it, so an answer can say where it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// The product's own description: what it is, what it does.
    Overview,
    /// How and how often to use it.
    Usage,
    Ingredients,
    /// Warnings, cautions, who should not use it.
    Warnings,
    /// Questions and answers the merchant wrote.
    Faq,
    /// Anything else the page says under its own heading (shipping, specifications...).
    Details,
}

impl SectionKind {
    pub const ALL: &'static [SectionKind] = &[
        SectionKind::Overview,
        SectionKind::Usage,
        SectionKind::Ingredients,
        SectionKind::Warnings,
        SectionKind::Faq,
        SectionKind::Details,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Overview => "overview",
            Self::Usage => "usage",
            Self::Ingredients => "ingredients",
            Self::Warnings => "warnings",
            Self::Faq => "faq",
            Self::Details => "details",
        }
    }

    /// The kind a page heading announces ("How to use" is usage, "Precautions" are warnings);
    /// `None` when the heading says nothing we recognise.
    pub fn from_heading(heading: &str) -> Option<SectionKind> {
        let heading = heading.to_lowercase();
        let has = |words: &[&str]| words.iter().any(|word| heading.contains(word));
        if has(&["faq", "frequently asked", "questions", "q&a", "q & a"]) {
            Some(Self::Faq)
        } else if has(&[
            "how to use",
            "how-to",
            "usage",
            "directions",
            "application",
            "how to apply",
            "instructions",
            "use it",
        ]) {
            Some(Self::Usage)
        } else if has(&["ingredient", "inci", "composition", "what's inside", "what is inside", "formula"]) {
            Some(Self::Ingredients)
        } else if has(&["warning", "caution", "precaution", "safety", "side effect", "allerg", "contraindication"]) {
            Some(Self::Warnings)
        } else if has(&["description", "overview", "about", "benefits", "what it is", "what it does", "details"]) {
            Some(Self::Overview)
        } else {
            None
        }
    }
}

impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SectionKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().find(|kind| kind.as_str() == s).copied().ok_or_else(|| {
            format!(
                "unknown section `{s}`; known sections: {}",
                Self::ALL.iter().map(SectionKind::as_str).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// One part of a product's text under one heading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub kind: SectionKind,
    /// The heading as the page or merchant wrote it, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    pub text: String,
}

/// Everything known about one product, ready to be chunked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductDocument {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default)]
    pub sections: Vec<Section>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_name_their_sections() {
        assert_eq!(SectionKind::from_heading("How to use"), Some(SectionKind::Usage));
        assert_eq!(SectionKind::from_heading("Full ingredients list (INCI)"), Some(SectionKind::Ingredients));
        assert_eq!(SectionKind::from_heading("Precautions"), Some(SectionKind::Warnings));
        assert_eq!(SectionKind::from_heading("Frequently asked questions"), Some(SectionKind::Faq));
        assert_eq!(SectionKind::from_heading("Shipping & returns"), None);
        assert_eq!("usage".parse::<SectionKind>(), Ok(SectionKind::Usage));
        assert!("usages".parse::<SectionKind>().is_err());
    }
}
