//! The page's main text, split into sections by its headings and by the accordion and tab
//! patterns shop themes use for "How to use", "Ingredients" and the like.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use recete_knowledge::{Section, SectionKind};
use scraper::{ElementRef, Html, Node, Selector};

use super::text::{collapse_whitespace, element_text, is_block, is_ignored, truncate_chars};

static MAIN: LazyLock<Selector> = LazyLock::new(|| super::selector("main, [role=main]"));
static ARTICLE: LazyLock<Selector> = LazyLock::new(|| super::selector("article"));
static BODY: LazyLock<Selector> = LazyLock::new(|| super::selector("body"));
static WITH_ID: LazyLock<Selector> = LazyLock::new(|| super::selector("[id]"));

/// Total text kept from one page; past this a page is a catalogue or a dump, not one product.
pub(super) const MAX_TEXT_CHARS: usize = 200_000;
/// A "heading" longer than this is a paragraph styled as one, kept as text.
const MAX_HEADING_CHARS: usize = 150;
/// Accordion and tab headings sit below every `<h1>`-`<h6>` in the outline.
const ACCORDION_LEVEL: u8 = 7;

pub(super) struct PageText {
    pub sections: Vec<Section>,
    /// The first `<h1>`: the product's name as the page shows it, not a section heading.
    pub page_heading: Option<String>,
}

pub(super) fn read(document: &Html) -> PageText {
    let container = [&*MAIN, &*ARTICLE, &*BODY]
        .into_iter()
        .find_map(|selector| document.select(selector).next())
        .unwrap_or_else(|| document.root_element());
    let mut walk =
        Walk { document, builder: SectionBuilder::new(MAX_TEXT_CHARS), page_heading: None, ids: OnceCell::new() };
    // An explicit stack rather than recursion: page nesting depth is not ours to trust.
    let mut stack = vec![(container.children(), AfterElement::Nothing)];
    while let Some((children, _)) = stack.last_mut() {
        if walk.builder.is_full() {
            break;
        }
        let Some(node) = children.next() else {
            if let Some((_, after)) = stack.pop() {
                walk.builder.after(after);
            }
            continue;
        };
        match node.value() {
            Node::Text(text) => walk.builder.push_text(text),
            Node::Element(_) => {
                if let Some(after) = ElementRef::wrap(node).and_then(|element| walk.enter(element)) {
                    stack.push((node.children(), after));
                }
            }
            _ => {}
        }
    }
    PageText { sections: walk.builder.finish(), page_heading: walk.page_heading }
}

struct Walk<'a> {
    document: &'a Html,
    builder: SectionBuilder,
    page_heading: Option<String>,
    /// Elements by id, built only when a tab panel needs its label.
    ids: OnceCell<HashMap<&'a str, ElementRef<'a>>>,
}

impl<'a> Walk<'a> {
    /// Handles an element's start; returns what to do after its children, or `None` when its
    /// children are not to be walked (ignored elements, and headings, read whole).
    fn enter(&mut self, element: ElementRef<'a>) -> Option<AfterElement> {
        let name = element.value().name();
        if is_ignored(name) || element.attr("role") == Some("tablist") {
            // Tab buttons only label panels; their text is read through the panel's label.
            return None;
        }
        match name {
            "h1" if self.page_heading.is_none() => {
                self.builder.break_line();
                self.page_heading = Some(element_text(element)).filter(|heading| !heading.is_empty());
                None
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = name[1..].parse().unwrap_or(ACCORDION_LEVEL);
                self.builder.heading(element_text(element), level);
                None
            }
            "summary" | "dt" => {
                self.builder.heading(element_text(element), ACCORDION_LEVEL);
                None
            }
            // Accordions: the heading they open lasts until they close.
            "details" | "dl" => Some(self.builder.open_scope()),
            _ if element.attr("role") == Some("tabpanel") => {
                let after = self.builder.open_scope();
                if let Some(label) = self.tab_label(element) {
                    self.builder.heading(label, ACCORDION_LEVEL);
                }
                Some(after)
            }
            "br" | "hr" => {
                self.builder.break_line();
                None
            }
            "td" | "th" => {
                self.builder.push_text(" ");
                Some(AfterElement::Space)
            }
            _ if is_block(name) => {
                self.builder.break_line();
                Some(AfterElement::BreakLine)
            }
            _ => Some(AfterElement::Nothing),
        }
    }

    /// A tab panel's heading: the text of the tab named by `aria-labelledby`, else `aria-label`.
    fn tab_label(&self, panel: ElementRef<'a>) -> Option<String> {
        let document = self.document;
        let from_tabs = panel.attr("aria-labelledby").and_then(|ids| {
            let by_id = self.ids.get_or_init(|| {
                document.select(&WITH_ID).filter_map(|element| Some((element.attr("id")?, element))).collect()
            });
            let label = ids.split_whitespace().filter_map(|id| by_id.get(id)).map(|tab| element_text(*tab));
            Some(collapse_whitespace(&label.collect::<Vec<_>>().join(" "))).filter(|label| !label.is_empty())
        });
        from_tabs.or_else(|| panel.attr("aria-label").map(collapse_whitespace).filter(|label| !label.is_empty()))
    }
}

/// What closing an element does to the text being built.
#[derive(Debug, Clone)]
enum AfterElement {
    Nothing,
    /// Table cells: keep the row on one line, cells apart.
    Space,
    BreakLine,
    /// Leaving an accordion or tab panel: text after it belongs to the section that was open
    /// before it, not to the accordion's last heading.
    Resume {
        section: usize,
        outline: Vec<OutlineEntry>,
    },
}

/// An open heading: its level and the section it started.
#[derive(Debug, Clone, Copy)]
struct OutlineEntry {
    level: u8,
    section: usize,
}

struct Draft {
    kind: SectionKind,
    heading: Option<String>,
    lines: Vec<String>,
}

/// Collects lines into sections, in page order, within a character budget.
struct SectionBuilder {
    drafts: Vec<Draft>,
    current: usize,
    /// Headings enclosing the current position, outermost first.
    outline: Vec<OutlineEntry>,
    line: String,
    remaining_chars: usize,
}

impl SectionBuilder {
    fn new(max_chars: usize) -> Self {
        // Text before any heading is the product's overview.
        let overview = Draft { kind: SectionKind::Overview, heading: None, lines: Vec::new() };
        Self {
            drafts: vec![overview],
            current: 0,
            outline: Vec::new(),
            line: String::new(),
            remaining_chars: max_chars,
        }
    }

    fn is_full(&self) -> bool {
        self.remaining_chars == 0
    }

    fn push_text(&mut self, text: &str) {
        self.line.push_str(text);
    }

    fn break_line(&mut self) {
        if self.line.trim().is_empty() {
            self.line.clear();
            return;
        }
        let line = collapse_whitespace(&self.line);
        self.line.clear();
        self.push_line(line);
    }

    fn push_line(&mut self, line: String) {
        if self.is_full() || line.is_empty() {
            return;
        }
        let line = truncate_chars(line, self.remaining_chars);
        self.remaining_chars -= line.chars().count();
        self.drafts[self.current].lines.push(line);
    }

    /// Starts a section under `heading`; the kind comes from its words, and a heading we do not
    /// recognise starts a section of details so its text is not merged into another. Headings
    /// nested under an FAQ heading are its questions and stay FAQ whatever they mention.
    fn heading(&mut self, heading: String, level: u8) {
        self.break_line();
        if heading.is_empty() {
            return;
        }
        if heading.chars().count() > MAX_HEADING_CHARS {
            self.push_line(heading);
            return;
        }
        while self.outline.last().is_some_and(|open| open.level >= level) {
            self.outline.pop();
        }
        let under_faq = self.outline.iter().any(|open| self.drafts[open.section].kind == SectionKind::Faq);
        let kind = if under_faq {
            SectionKind::Faq
        } else {
            SectionKind::from_heading(&heading).unwrap_or(SectionKind::Details)
        };
        self.drafts.push(Draft { kind, heading: Some(heading), lines: Vec::new() });
        self.current = self.drafts.len() - 1;
        self.outline.push(OutlineEntry { level, section: self.current });
    }

    fn open_scope(&mut self) -> AfterElement {
        self.break_line();
        AfterElement::Resume { section: self.current, outline: self.outline.clone() }
    }

    fn after(&mut self, after: AfterElement) {
        match after {
            AfterElement::Nothing => {}
            AfterElement::Space => self.line.push(' '),
            AfterElement::BreakLine => self.break_line(),
            AfterElement::Resume { section, outline } => {
                self.break_line();
                self.current = section;
                self.outline = outline;
            }
        }
    }

    fn finish(mut self) -> Vec<Section> {
        self.break_line();
        self.drafts
            .into_iter()
            .filter(|draft| !draft.lines.is_empty())
            .map(|draft| Section { kind: draft.kind, heading: draft.heading, text: draft.lines.join("\n") })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(body: &str) -> PageText {
        read(&Html::parse_document(&format!("<html><body>{body}</body></html>")))
    }

    fn section(kind: SectionKind, heading: Option<&str>, text: &str) -> Section {
        Section { kind, heading: heading.map(str::to_owned), text: text.to_owned() }
    }

    #[test]
    fn headings_split_the_text_and_the_first_h1_is_the_title() {
        let page = sections(
            "<h1>Vitamin C Serum</h1><p>Brightens   dull skin.</p><p>For all skin types.</p>
             <h2>How to use</h2><ol><li>Cleanse.</li><li>Apply <b>3 drops</b>.</li></ol>
             <h3>Shipping &amp; returns</h3><p>Ships in 2 days.</p>
             <h2>Ingredients</h2><p>Aqua, Ascorbic Acid</p>",
        );
        assert_eq!(page.page_heading.as_deref(), Some("Vitamin C Serum"));
        assert_eq!(
            page.sections,
            vec![
                section(SectionKind::Overview, None, "Brightens dull skin.\nFor all skin types."),
                section(SectionKind::Usage, Some("How to use"), "Cleanse.\nApply 3 drops."),
                section(SectionKind::Details, Some("Shipping & returns"), "Ships in 2 days."),
                section(SectionKind::Ingredients, Some("Ingredients"), "Aqua, Ascorbic Acid"),
            ]
        );
    }

    #[test]
    fn accordions_and_definition_lists_are_sections_that_end_where_they_close() {
        let page = sections(
            "<p>Intro.</p>
             <details><summary><span>Warnings</span></summary><div>Avoid eyes.</div></details>
             <p>More about the product.</p>
             <dl><dt>FAQ</dt><dd>Is it vegan? Yes.</dd><dt>Size</dt><dd>30 ml</dd></dl>",
        );
        assert_eq!(
            page.sections,
            vec![
                section(SectionKind::Overview, None, "Intro.\nMore about the product."),
                section(SectionKind::Warnings, Some("Warnings"), "Avoid eyes."),
                section(SectionKind::Faq, Some("FAQ"), "Is it vegan? Yes."),
                section(SectionKind::Details, Some("Size"), "30 ml"),
            ]
        );
    }

    #[test]
    fn questions_under_an_faq_heading_stay_faq() {
        let page = sections(
            "<h2>FAQ</h2>
             <details><summary>Is it vegan?</summary>Yes.</details>
             <h3>Can I use it daily?</h3><p>Yes, morning and night.</p>
             <h2>Shipping</h2><p>2 days.</p>
             <h3>Returns</h3><p>Within 14 days.</p>",
        );
        assert_eq!(
            page.sections,
            vec![
                section(SectionKind::Faq, Some("Is it vegan?"), "Yes."),
                section(SectionKind::Faq, Some("Can I use it daily?"), "Yes, morning and night."),
                section(SectionKind::Details, Some("Shipping"), "2 days."),
                section(SectionKind::Details, Some("Returns"), "Within 14 days."),
            ]
        );
    }

    #[test]
    fn tab_panels_take_their_tab_as_heading() {
        let page = sections(
            r#"<div role="tablist"><button role="tab" id="t1">Directions</button><span role="tab" id="t2">Inside</span></div>
               <div role="tabpanel" aria-labelledby="t1">Use nightly.</div>
               <div role="tabpanel" aria-label="Composition">Water.</div>"#,
        );
        assert_eq!(
            page.sections,
            vec![
                section(SectionKind::Usage, Some("Directions"), "Use nightly."),
                section(SectionKind::Ingredients, Some("Composition"), "Water."),
            ]
        );
    }

    #[test]
    fn chrome_and_code_are_ignored_and_main_is_preferred() {
        let page = sections(
            "<header>Free shipping!</header><nav>Home</nav>
             <main><p>Kept.</p><script>var x = 1;</script><style>p{}</style><form><button>Add to cart</button></form>
             <aside>Related</aside><table><tr><td>Volume</td><td>30 ml</td></tr></table></main>
             <footer>© Shop</footer>",
        );
        assert_eq!(page.sections, vec![section(SectionKind::Overview, None, "Kept.\nVolume 30 ml")]);
    }

    #[test]
    fn empty_sections_are_dropped() {
        let page = sections("<h2>Ingredients</h2><h2>How to use</h2><p>Twice daily.</p>");
        assert_eq!(page.sections, vec![section(SectionKind::Usage, Some("How to use"), "Twice daily.")]);
    }

    #[test]
    fn total_text_is_capped() {
        let paragraph = format!("<p>{}</p>", "word ".repeat(2_000));
        let page = sections(&paragraph.repeat(100));
        let total: usize = page.sections.iter().map(|section| section.text.chars().count()).sum();
        assert!(total <= MAX_TEXT_CHARS + page.sections[0].text.lines().count(), "{total} chars kept");
        assert!(total >= MAX_TEXT_CHARS - 10_000, "the cap is used, not undershot: {total}");
    }
}
