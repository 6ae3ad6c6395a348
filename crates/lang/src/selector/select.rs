//! Matching a [`Selector`] against a [`TraceView`] (reference 7.2 and 7.3).

use std::collections::HashMap;
use std::ops::Range;

use super::{Filter, PropertyKey, PseudoClass, Selector, SelectorOp, SpanSelector};
use crate::view::SpanView;
use crate::TraceView;

impl Filter {
    fn matches(&self, span: &SpanView<'_>) -> bool {
        let owned;
        let actual: &str = match self.key {
            PropertyKey::Name => span.name(),
            PropertyKey::Kind => span.kind(),
            // A missing attribute reads as "".
            PropertyKey::Meta(meta) => {
                owned = span.meta(meta);
                owned.as_deref().unwrap_or("")
            }
            PropertyKey::Attribute => {
                owned = span.plain_attribute(&self.property);
                owned.as_deref().unwrap_or("")
            }
        };
        match self.op {
            SelectorOp::Eq => actual == self.text,
            SelectorOp::Contains => actual.contains(self.text.as_str()),
        }
    }
}

impl SpanSelector {
    fn matches(&self, span: &SpanView<'_>) -> bool {
        self.filters.iter().all(|filter| filter.matches(span))
    }
}

impl PseudoClass {
    fn apply(self, mut matches: Vec<usize>) -> Vec<usize> {
        match self {
            PseudoClass::First => {
                matches.truncate(1);
                matches
            }
            PseudoClass::Last => matches.pop().into_iter().collect(),
            PseudoClass::NthChild(n) => {
                let position = usize::try_from(n).ok().and_then(|n| n.checked_sub(1));
                position.and_then(|position| matches.get(position).copied()).into_iter().collect()
            }
        }
    }
}

impl Selector {
    /// The selected spans as indexes into [`TraceView::spans`], in Tracetest's order,
    /// duplicates across alternatives kept.
    pub fn select(&self, view: &TraceView<'_>) -> Vec<usize> {
        if let Some(query) = self.traceql() {
            return query.select(view);
        }
        if self.alternatives.is_empty() {
            return (0..view.len()).collect();
        }
        let mut selected = Vec::new();
        let mut selection = Selection::default();
        for chain in &self.alternatives {
            selection.memo.clear();
            selected.extend(select_chain(view, &chain.parts, 0, 0..view.len(), &mut selection));
        }
        selected
    }

    /// [`Selector::select`] without the linear-time shortcut for `A B` chains: the
    /// reference the property tests compare it with.
    #[cfg(test)]
    pub(crate) fn select_naive(&self, view: &TraceView<'_>) -> Vec<usize> {
        if let Some(query) = self.traceql() {
            return query.select(view);
        }
        if self.alternatives.is_empty() {
            return (0..view.len()).collect();
        }
        let mut selected = Vec::new();
        let mut seen = Vec::new();
        for chain in &self.alternatives {
            selected.extend(select_chain_naive(view, &chain.parts, 0..view.len(), &mut seen));
        }
        selected
    }

    /// The selected spans themselves.
    pub fn select_spans<'v, 't>(&self, view: &'v TraceView<'t>) -> Vec<&'v SpanView<'t>> {
        self.select(view).into_iter().map(|index| &view.spans()[index]).collect()
    }

    /// Whether the selector matches at least one span (trace completeness, rule 3).
    pub fn matches_any(&self, view: &TraceView<'_>) -> bool {
        if let Some(query) = self.traceql() {
            return !query.select(view).is_empty();
        }
        if self.alternatives.is_empty() {
            return !view.is_empty();
        }
        let mut selection = Selection::default();
        self.alternatives.iter().any(|chain| {
            // A lone part without pseudo-class needs only one match: stop at the first.
            match chain.parts.as_slice() {
                [part] if part.pseudo.is_none() => view.spans().iter().any(|span| part.matches(span)),
                parts => {
                    selection.memo.clear();
                    !select_chain(view, parts, 0, 0..view.len(), &mut selection).is_empty()
                }
            }
        })
    }
}

/// Scratch space and memory for one selection.
#[derive(Default)]
struct Selection {
    /// For dropping repeats.
    seen: Vec<bool>,
    /// `parts[level..]` evaluated over the subtree of a span, by (level, span index):
    /// a chain with inner pseudo-classes asks for the same subtree from many ancestors.
    memo: HashMap<(usize, usize), Vec<usize>>,
}

/// Evaluates `parts[level..]` over the spans in `range` (7.3).
fn select_chain(
    view: &TraceView<'_>,
    parts: &[SpanSelector],
    level: usize,
    range: Range<usize>,
    selection: &mut Selection,
) -> Vec<usize> {
    let Some(head) = parts.get(level) else {
        return Vec::new();
    };
    let tail = &parts[level + 1..];
    let spans = view.spans();
    let matches: Vec<usize> = if tail.is_empty() {
        range.filter(|&index| spans.get(index).is_some_and(|span| head.matches(span))).collect()
    } else if tail.iter().all(|part| part.pseudo.is_none()) {
        chain_in_one_pass(view, &parts[level..], range)
    } else {
        let mut collected = Vec::new();
        for parent in range.filter(|&index| spans.get(index).is_some_and(|span| head.matches(span))) {
            let below = match selection.memo.get(&(level + 1, parent)) {
                Some(below) => below.clone(),
                None => {
                    let below = select_chain(view, parts, level + 1, view.subtree(parent), selection);
                    selection.memo.insert((level + 1, parent), below.clone());
                    below
                }
            };
            collected.extend(below.into_iter().filter(|&index| index != parent));
        }
        // Drop repeats, keeping first occurrences.
        let seen = &mut selection.seen;
        seen.clear();
        seen.resize(view.len(), false);
        collected.retain(|&index| !std::mem::replace(&mut seen[index], true));
        collected
    };
    match head.pseudo {
        Some(pseudo) => pseudo.apply(matches),
        None => matches,
    }
}

/// A chain whose parts after the first have no pseudo-class, in one pre-order pass over
/// `range`: the spans matching the last part that have strict ancestors matching the
/// other parts in order, where consecutive parts but the last two may match the same span
/// . This is what the literal reading of 7.3 computes (subtrees of nested matches
/// contain each other, those of disjoint matches follow each other in pre-order), in
/// linear rather than polynomial time. The first part's pseudo-class is the caller's.
fn chain_in_one_pass(view: &TraceView<'_>, parts: &[SpanSelector], range: Range<usize>) -> Vec<usize> {
    let spans = view.spans();
    let Some((last, ancestors)) = parts.split_last() else {
        return Vec::new();
    };
    // (end of subtree, number of `ancestors` matched along the path down to that span).
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut found = Vec::new();
    for index in range {
        let Some(span) = spans.get(index) else {
            break;
        };
        while open.last().is_some_and(|&(end, _)| end <= index) {
            open.pop();
        }
        let reached = open.last().map_or(0, |&(_, reached)| reached);
        if reached == ancestors.len() && last.matches(span) {
            found.push(index);
        }
        // Greedy: the span matches as many of the next parts as it can.
        let mut extended = reached;
        while extended < ancestors.len() && ancestors[extended].matches(span) {
            extended += 1;
        }
        if extended > reached {
            open.push((view.subtree(index).end, extended));
        }
    }
    found
}

#[cfg(test)]
fn select_chain_naive(
    view: &TraceView<'_>,
    parts: &[SpanSelector],
    range: std::ops::Range<usize>,
    seen: &mut Vec<bool>,
) -> Vec<usize> {
    let Some((head, tail)) = parts.split_first() else {
        return Vec::new();
    };
    let spans = view.spans();
    let matches: Vec<usize> = if tail.is_empty() {
        range.filter(|&index| head.matches(&spans[index])).collect()
    } else {
        let mut collected = Vec::new();
        for parent in range.filter(|&index| head.matches(&spans[index])) {
            let below = select_chain_naive(view, tail, view.subtree(parent), seen);
            collected.extend(below.into_iter().filter(|&index| index != parent));
        }
        seen.clear();
        seen.resize(view.len(), false);
        collected.retain(|&index| !std::mem::replace(&mut seen[index], true));
        collected
    };
    match head.pseudo {
        Some(pseudo) => pseudo.apply(matches),
        None => matches,
    }
}

/// Trace completeness rule 3 as problem texts: `selector span[name="db"] matched none`, one
/// per selector that matches no span of `trace` (empty when all match). Shared by the
/// in-process runner and the control API's `WaitTrace`, so both word it the same.
pub fn unmatched_selectors(trace: &model::Trace, selectors: &[Selector]) -> Vec<String> {
    if selectors.is_empty() {
        return Vec::new();
    }
    let view = TraceView::new(trace);
    selectors
        .iter()
        .filter(|selector| !selector.matches_any(&view))
        .map(|selector| format!("selector {selector} matched none"))
        .collect()
}
