//! The HTML report: one self-contained file (inline CSS, SVG and a little JavaScript; no
//! fetches), readable opened from disk.
//!
//! Built with maud: the markup is Rust, checked at compile time, and every interpolated
//! value is HTML-escaped unless marked otherwise, so text from clients and the wire cannot
//! inject markup. (askama and minijinja keep templates in separate files, which a single
//! self-contained report does not need, and escape by configuration rather than by default
//! in the type system.)
//!
//! Each case's detail view (network, ladder, transcripts, output: most of the page) is
//! rendered here, then stored, with those of the scenario's other cases and variants
//! (ordered by client), zlib-compressed and base64-encoded in a
//! hidden `<div class="pack" data-z>` ([`pack`]); the page's script unpacks it with
//! `DecompressionStream` when one of the cases opens (a click, or a deep link: then it
//! scrolls the case to the top once filled and marks `<body data-opened="case-...">`). A
//! case's heading and reason stay plain, and the summary, matrix and coverage need no
//! script. Opened from disk this needs no fetch, which Chromium blocks for `file://`;
//! packed per scenario, a 2,370-case report is a quarter of its size.

use std::collections::{BTreeMap, BTreeSet};

use maud::{html as m, Markup, PreEscaped, DOCTYPE};

use crate::coverage::{coverage, Entry};
use crate::diff::diff;
use crate::ladder::{host_label, host_order, ladder, svg as ladder_svg};
use crate::model::{AttemptOutcome, CaseResult, NetworkSummary, Role, RunResults, Verdict};
use crate::text::{clean, truncate};

const CSS: &str = r#"
:root{--pass:#1a7f37;--fail:#cf222e;--error:#8250df;--inf:#0969da;--uns:#6e7781;--bg-pass:#dafbe1;--bg-fail:#ffebe9;--bg-error:#fbefff;--bg-inf:#ddf4ff;--bg-uns:#f6f8fa}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#fff}
header,main{padding:0 24px}header{border-bottom:1px solid #d0d7de;padding-top:12px;padding-bottom:8px}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:24px 0 8px}h3{font-size:16px;margin:0 0 6px}h4{font-size:14px;margin:14px 0 4px}
.meta{color:#57606a;margin:0}
table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
table.summary td.n{text-align:right;font-variant-numeric:tabular-nums}
.matrix th.scenario{font-weight:normal;min-width:260px}.matrix th.scenario a{font-weight:600;color:#1f2328;text-decoration:none}
.matrix .title{display:block;color:#57606a;font-size:12px}.matrix tr.group th{background:#f6f8fa;font-size:13px;text-transform:uppercase;letter-spacing:.04em}
.matrix td.cell{min-width:96px;font-weight:600}.matrix td.cell a{color:inherit;text-decoration:none;display:block}
.v-pass{background:var(--bg-pass);color:var(--pass)}.v-fail{background:var(--bg-fail);color:var(--fail)}.v-error{background:var(--bg-error);color:var(--error)}
.v-informational{background:var(--bg-inf);color:var(--inf)}.v-unsupported{background:var(--bg-uns);color:var(--uns)}
.mark{display:inline-block;font-size:11px;font-weight:600;margin-left:4px;padding:0 4px;border-radius:3px;background:#fff}
.worse .mark{color:var(--fail);border:1px solid var(--fail)}.better .mark{color:var(--pass);border:1px solid var(--pass)}
td.worse{outline:2px solid var(--fail);outline-offset:-2px}
#filters{display:flex;gap:16px;margin:8px 0 12px;flex-wrap:wrap}#filters label{font-size:13px;color:#57606a}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;border:1px solid currentColor}
.case{display:none;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin:12px 0}.case:target,.case.open{display:block}
.reason{font-size:15px;margin:6px 0 10px}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:0}dl.facts dt{color:#57606a}dl.facts dd{margin:0}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;padding:8px;overflow:auto;max-height:420px;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;white-space:pre-wrap;word-break:break-all}
.dialogue .c{color:#0550ae}.dialogue .s{color:#1f2328}.dialogue .tls{color:#8250df;font-weight:600}
ul.attempts{list-style:none;padding:0;margin:0}ul.attempts li{font-family:ui-monospace,monospace;font-size:12px}
.dropped{color:var(--fail)}.forwarded{color:var(--pass)}.reached-decoy{color:var(--error)}
.changes li{margin:2px 0}.back{font-size:12px}
div.ladder{overflow-x:auto}svg.ladder{border:1px solid #d0d7de;border-radius:4px;background:#fff;font-family:ui-monospace,monospace}
svg.net{max-width:100%;height:auto;border:1px solid #d0d7de;border-radius:4px;background:#fff}
nav.top{margin:4px 0 0;font-size:13px}nav.top a{margin-right:12px}
.matrix tr.row:target th.scenario{background:#fff8c5}
table.coverage{margin-bottom:8px}table.coverage th.ref{font-weight:600;white-space:nowrap}table.coverage tr.group th{background:#f6f8fa}
table.coverage td.cites a{display:inline-block;margin-right:4px}table.coverage .note{color:#57606a;font-size:12px}
table.coverage td.tally span{display:inline-block;padding:0 4px;margin:1px 0;border-radius:3px;font-size:12px;font-weight:600;white-space:nowrap}
[hidden]{display:none !important}
"#;

/// Styles for flaky and quarantined cases, added only when a run has them (so a run without
/// `--repeat` or `--quarantine` gives the same page as before they existed).
const CSS_FLAKE: &str = r#"
td.flaky{background-image:repeating-linear-gradient(135deg,transparent 0 6px,rgba(0,0,0,.07) 6px 12px)}
.flaky-word{display:block;font-size:11px;font-weight:normal}
td.quarantined{opacity:.75}.q{color:#57606a;border:1px dashed #57606a}
ol.runs{margin:0;padding-left:22px}ol.runs li{margin:2px 0}
"#;

const JS: &str = r#"
(function(){
  function params(){var h=location.hash.slice(1),p={};if(h.indexOf('=')<0)return p;
    h.split('&').forEach(function(kv){var i=kv.indexOf('=');if(i>0)p[decodeURIComponent(kv.slice(0,i))]=decodeURIComponent(kv.slice(i+1));});return p;}
  var fv=document.getElementById('f-verdict'),fc=document.getElementById('f-client'),fg=document.getElementById('f-group');
  // Unfiltered, the page is as written: no need to touch every cell before the first paint.
  var applied=false;
  function apply(){applied=true;
    var v=fv.value,c=fc.value,g=fg.value;
    document.querySelectorAll('.matrix [data-client]').forEach(function(el){el.hidden=!!c&&el.getAttribute('data-client')!==c;});
    document.querySelectorAll('.matrix tbody').forEach(function(tb){tb.hidden=!!g&&tb.getAttribute('data-group')!==g;});
    document.querySelectorAll('.matrix tr.row').forEach(function(tr){
      var cells=tr.querySelectorAll('td.cell'),any=false;
      cells.forEach(function(td){var ok=(!c||td.getAttribute('data-client')===c)&&(!v||td.getAttribute('data-verdict')===v);if(ok)any=true;td.classList.toggle('dim',!!v&&td.getAttribute('data-verdict')!==v);});
      tr.hidden=!any;});
    document.getElementById('shown').textContent=document.querySelectorAll('.matrix tr.row:not([hidden])').length;
  }
  var packs={};
  function unpack(n){if(!packs[n]){var b=atob(document.getElementById('pack-'+n).getAttribute('data-z')),u=new Uint8Array(b.length);
    for(var i=0;i<b.length;i++)u[i]=b.charCodeAt(i);
    packs[n]=new Response(new Blob([u]).stream().pipeThrough(new DecompressionStream('deflate'))).text().then(function(t){return t.split('<!--case-->');});}
    return packs[n];}
  function fill(el){var d=el.querySelector('.detail[data-pack]');if(!d||d.firstChild)return Promise.resolve();
    return unpack(d.getAttribute('data-pack')).then(function(parts){if(!d.firstChild)d.innerHTML=parts[+d.getAttribute('data-i')];});}
  function open(){
    var p=params();
    if(p.verdict!==undefined)fv.value=p.verdict;if(p.client!==undefined)fc.value=p.client;if(p.group!==undefined)fg.value=p.group;
    if(fv.value||fc.value||fg.value||applied)apply();
    document.querySelectorAll('.case.open').forEach(function(a){a.classList.remove('open');});
    var id=location.hash.slice(1);if(id&&id.indexOf('=')<0){var el=document.getElementById(id);if(el&&el.classList.contains('case')){el.classList.add('open');
      fill(el).then(function(){if(location.hash.slice(1)===id){el.scrollIntoView();document.body.setAttribute('data-opened',id);}});}
      if(el&&el.closest('.matrix [hidden]')){fv.value=fc.value=fg.value='';apply();el.scrollIntoView();}}
  }
  [fv,fc,fg].forEach(function(s){s.addEventListener('change',apply);});
  window.addEventListener('hashchange',open);open();
})();
"#;

/// A fragment id for a case.
pub fn case_id(client: &str, scenario: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    };
    format!("case-{}--{}", clean(client), clean(scenario))
}

/// A fragment id for a scenario's row in the matrix.
pub fn row_id(scenario: &str) -> String {
    let clean: String = scenario
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("row-{clean}")
}

/// The whole report. With `baseline`, cells that got worse or better are marked and the
/// regressions are listed first.
pub fn html(run: &RunResults, baseline: Option<&RunResults>) -> String {
    let clients = run.client_names();
    // Servers under test (`ftpspec run --server`) are columns too, marked as servers.
    let servers: std::collections::BTreeSet<&str> = run
        .clients
        .iter()
        .filter(|c| c.role == crate::model::CaseRole::Server)
        .map(|c| c.name.as_str())
        .collect();
    let mut groups: BTreeMap<&str, BTreeMap<&str, BTreeMap<&str, &CaseResult>>> = BTreeMap::new();
    for r in &run.results {
        groups
            .entry(r.group())
            .or_default()
            .entry(&r.scenario)
            .or_default()
            .insert(&r.client, r);
    }
    let changes = baseline.map(|b| diff(b, run));
    let old = |r: &CaseResult| {
        baseline
            .and_then(|b| b.get(&r.client, &r.scenario))
            .map(|o| o.verdict)
    };
    let scenarios: usize = groups.values().map(|g| g.len()).sum();
    let counts_by_client: BTreeMap<&str, BTreeMap<Verdict, usize>> = {
        let mut m: BTreeMap<&str, BTreeMap<Verdict, usize>> = BTreeMap::new();
        for r in &run.results {
            *m.entry(&r.client)
                .or_default()
                .entry(r.verdict)
                .or_default() += 1;
        }
        m
    };
    let version_of = |c: &str| {
        run.clients
            .iter()
            .find(|i| i.name == c)
            .map(|i| i.version.clone())
            .or_else(|| {
                run.results
                    .iter()
                    .find(|r| r.client == c)
                    .map(|r| r.client_version.clone())
            })
            .unwrap_or_default()
    };
    let quarantined: Vec<&CaseResult> = run.quarantined().collect();
    let flake = run.repeat > 1
        || run.results.iter().any(|r| r.flaky || !r.runs.is_empty())
        || !quarantined.is_empty();
    let flaky_by_client: BTreeMap<&str, usize> = {
        let mut m: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &run.results {
            *m.entry(&r.client).or_default() += usize::from(r.flaky);
        }
        m
    };
    let any_flaky = run.results.iter().any(|r| r.flaky) || run.repeat > 1;
    let page = m! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "ftpspec report" }
                style { (PreEscaped(CSS)) }
                @if flake { style { (PreEscaped(CSS_FLAKE)) } }
            }
            body {
                header {
                    h1 { "ftpspec report" }
                    p.meta {
                        "ftpspec " (run.ftpspec_version) " · " (scenarios) " scenarios × " (clients.len() - servers.len()) " clients · "
                        @if !servers.is_empty() { (servers.len()) " servers · " }
                        @for (v, n) in run_counts(run) { span class={"v-" (v.as_str())} { (n) " " (v.as_str()) } " " }
                        @if run.repeat > 1 { " · each case run " (run.repeat) " times: " strong { (run.flaky()) " flaky" } }
                        @if let Some(seed) = run.seed { " · shuffled with --seed " (seed) }
                        @if let Some(p) = &run.partition { " · only partition " (p) " of the cases" }
                        @if !run.merged_from.is_empty() { " · merged from " (run.merged_from.len()) " runs: " (merged_list(run)) }
                        @if !quarantined.is_empty() { " · " (quarantined.len()) " quarantined" }
                        @if run.interrupted { strong.fail { " · interrupted: these are the results collected before it stopped" } }
                    }
                    nav.top { a href="#summary" { "Clients" } a href="#matrix" { "Matrix" } a href="#coverage" { "Coverage" } a href="#cases" { "Cases" } }
                }
                main {
                    @if let Some(d) = &changes {
                        section #changes .changes {
                            h2 { "Compared with the baseline" }
                            @if d.regressions.is_empty() { p { "No regression." } }
                            @else {
                                h3.v-fail { (d.regressions.len()) " regression(s)" }
                                ul { @for c in &d.regressions { li {
                                    a href={"#" (case_id(&c.client, &c.scenario))} { (c.client) " · " (c.scenario) }
                                    ": " (c.old_text()) " → " strong { (c.new_text()) }
                                    @if c.quarantined.is_some() { " " span.mark.q { "quarantined, not counted" } }
                                    " — " (clean(&truncate(&c.reason, 600)))
                                } } }
                            }
                            @if !d.improvements.is_empty() {
                                h3.v-pass { (d.improvements.len()) " improvement(s)" }
                                ul { @for c in &d.improvements { li {
                                    a href={"#" (case_id(&c.client, &c.scenario))} { (c.client) " · " (c.scenario) }
                                    ": " (c.old_text()) " → " (c.new_text())
                                } } }
                            }
                            @if !d.added.is_empty() || !d.removed.is_empty() || !d.changed.is_empty() {
                                p.meta { (d.added.len()) " new case(s), " (d.removed.len()) " gone, " (d.changed.len()) " changed without getting better or worse." }
                            }
                        }
                    }
                    @let failed: Vec<&CaseResult> = run.results.iter().filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::Error)).collect();
                    @if !failed.is_empty() {
                        section #failed {
                            h2 { "What failed" }
                            ul.changes { @for r in &failed { li {
                                span class={"badge v-" (r.verdict.as_str())} { (r.verdict.as_str()) } " "
                                a href={"#" (case_id(&r.client, &r.scenario))} { (r.client) " · " (r.scenario) }
                                @if r.flaky { " " span.mark { "flaky: " (r.run_counts()) } }
                                @if r.quarantined.is_some() { " " span.mark.q { "quarantined" } }
                                ": " (clean(&truncate(&r.reason, 600)))
                            } } }
                        }
                    }
                    @if !quarantined.is_empty() {
                        section #quarantined {
                            h2 { "Quarantined" }
                            p.meta { "These cases ran as usual, but their verdicts do not count toward the exit status (errors, regressions against a baseline)." }
                            ul.changes { @for r in &quarantined { li {
                                span class={"badge v-" (r.verdict.as_str())} { (r.verdict.as_str()) } " "
                                a href={"#" (case_id(&r.client, &r.scenario))} { (r.client) " · " (r.scenario) }
                                @if r.flaky { " " span.mark { "flaky: " (r.run_counts()) } }
                                ": " (clean(&truncate(r.quarantined.as_deref().unwrap_or_default(), 600)))
                            } } }
                        }
                    }
                    section #summary {
                        h2 { @if servers.is_empty() { "Clients" } @else { "Clients and servers" } }
                        table.summary {
                            thead { tr { th { "client" } th { "version" }
                                @for v in Verdict::ALL { th class={"v-" (v.as_str())} { (v.as_str()) } }
                                @if any_flaky { th { "flaky" } }
                                @if !quarantined.is_empty() { th { "quarantined" } } } }
                            tbody { @for c in &clients { tr {
                                td { a href={"#client=" (c)} { (c) } @if servers.contains(c) { " " span.meta { "(server)" } } }
                                td { (clean(&version_of(c))) }
                                @for v in Verdict::ALL { td.n { (counts_by_client.get(c).and_then(|m| m.get(&v)).copied().unwrap_or(0)) } }
                                @if any_flaky { td.n { (flaky_by_client.get(c).copied().unwrap_or(0)) } }
                                @if !quarantined.is_empty() { td.n { (quarantined.iter().filter(|r| r.client == *c).count()) } }
                            } } }
                        }
                        @if !run.missing_clients.is_empty() {
                            p.meta { "Not installed, so not run: " (run.missing_clients.join(", ")) "." }
                        }
                    }
                    section #matrix {
                        h2 { "Matrix" }
                        form #filters onsubmit="return false" {
                            label { "verdict " select #f-verdict { option value="" { "any" } @for v in Verdict::ALL { option value=(v.as_str()) { (v.as_str()) } } } }
                            label { "client " select #f-client { option value="" { "all" } @for c in &clients { option value=(c) { (c) } } } }
                            label { "group " select #f-group { option value="" { "all" } @for g in groups.keys() { option value=(g) { (g) } } } }
                            span.meta { span #shown { (scenarios) } " scenario(s) shown. Click a cell for what happened." }
                        }
                        table.matrix {
                            thead { tr { th { "scenario" } @for c in &clients { th data-client=(c) { (c) @if servers.contains(c) { br; span.meta { "server" } } } } } }
                            @for (group, rows) in &groups {
                                tbody data-group=(group) {
                                    tr.group { th colspan=(clients.len() + 1) { (group) } }
                                    @for (scenario, row) in rows {
                                        @let any = row.values().next().expect("a row has a result");
                                        tr.row id=(row_id(scenario)) data-scenario=(scenario) {
                                            th.scenario title=(clean(&any.requirement)) {
                                                a href={"#" (case_id(&any.client, scenario))} { (scenario) }
                                                span.title { (clean(&any.title)) }
                                            }
                                            @for c in &clients {
                                                @match row.get(c) {
                                                    Some(r) => {
                                                        @let was = old(r);
                                                        @let change = match was { Some(w) if w.rank() > r.verdict.rank() => "worse", Some(w) if w.rank() < r.verdict.rank() => "better", _ => "" };
                                                        @let extra = match (r.flaky, r.quarantined.is_some()) { (true, true) => " flaky quarantined", (true, false) => " flaky", (false, true) => " quarantined", _ => "" };
                                                        td class={"cell v-" (r.verdict.as_str()) " " (change) (extra)} data-client=(c) data-verdict=(r.verdict.as_str()) data-flaky=[r.flaky.then_some("")] title=(clean(&truncate(&cell_title(r), 400))) {
                                                            a href={"#" (case_id(c, scenario))} {
                                                                @if r.flaky { "flaky" span.flaky-word { (r.run_counts()) } } @else { (r.verdict.as_str()) }
                                                                @if r.quarantined.is_some() { span.mark.q { "quarantined" } }
                                                                @if !change.is_empty() { span.mark { @if change == "worse" { "▼ " } @else { "▲ " } "was " (was.map_or("-", Verdict::as_str)) } }
                                                            }
                                                        }
                                                    }
                                                    None => { td.cell data-client=(c) data-verdict="" { "–" } }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    (coverage_section(run, &clients))
                    section #cases {
                        h2 { "Cases" }
                        p.meta { "Each case opens from the matrix." }
                        noscript { p.meta { "A case's details (network, ladder, transcripts, output) are stored compressed in this page and need JavaScript to show; the summary, the matrix and the coverage do not." } }
                        @let packs = packs(run);
                        @let slots: BTreeMap<(&str, &str), (usize, usize)> = packs.iter().enumerate().flat_map(|(n, p)| p.iter().enumerate().map(move |(i, r)| ((r.client.as_str(), r.scenario.as_str()), (n, i)))).collect();
                        @for r in &run.results {
                            @let (n, i) = slots[&(r.client.as_str(), r.scenario.as_str())];
                            (case(r, n, i))
                        }
                        @for (n, group) in packs.iter().enumerate() {
                            div.pack hidden id={"pack-" (n)} data-z=(pack(&group.iter().map(|r| detail(r, old(r)).into_string()).collect::<Vec<_>>().join(CASE_SEPARATOR))) {}
                        }
                    }
                }
                script { (PreEscaped(JS)) }
            }
        }
    };
    page.into_string()
}

/// The coverage section: each reference the scenarios cite, grouped (RFCs by number, CVEs,
/// issue trackers, other documentation), with the scenarios citing it (linked to their
/// matrix rows) and each client's verdicts on them.
fn coverage_section(run: &RunResults, clients: &[&str]) -> Markup {
    let cov = coverage(run);
    let citing: BTreeSet<&str> = run
        .results
        .iter()
        .filter(|r| !r.references.is_empty())
        .map(|r| r.scenario.as_str())
        .collect();
    let head = m! { thead { tr { th { "reference" } th { "scenarios" } @for c in clients { th data-client=(c) { (c) } } } } };
    let others = [
        ("CVEs", &cov.cves),
        ("Issue trackers", &cov.issues),
        ("Other documentation", &cov.other),
    ];
    m! {
        section #coverage {
            h2 { "Coverage" }
            @if cov.is_empty() { p.meta { "No scenario names a reference." } }
            @else {
                p.meta { (cov.len()) " references cited by " (citing.len()) " scenario(s): for each, the scenarios citing it (with how, when they say) and, per client, how those cases ended." }
                @if !cov.rfcs.is_empty() {
                    h3 { "RFCs" }
                    table.coverage {
                        (head)
                        @for (number, entries) in &cov.rfcs {
                            tbody id={"coverage-rfc-" (number)} {
                                tr.group { th colspan=(clients.len() + 2) { a href={"https://www.rfc-editor.org/rfc/rfc" (number)} { "RFC " (number) } } }
                                @for e in entries { (coverage_row(e, clients)) }
                            }
                        }
                    }
                }
                @for (title, entries) in others {
                    @if !entries.is_empty() {
                        h3 { (title) }
                        table.coverage { (head) tbody { @for e in entries { (coverage_row(e, clients)) } } }
                    }
                }
            }
        }
    }
}

fn coverage_row(e: &Entry, clients: &[&str]) -> Markup {
    let label = clean(&e.key.label());
    m! {
        tr {
            th.ref { @if let Some(url) = e.key.url() { a href=(url) { (label) } } @else { (label) } }
            td.cites { @for (scenario, c) in &e.scenarios {
                a href={"#" (row_id(scenario))} title=(clean(c.title)) { (scenario) }
                @if !c.notes.is_empty() { span.note { "(" (clean(&c.notes.iter().cloned().collect::<Vec<_>>().join("; "))) ")" } }
                " "
            } }
            @for c in clients {
                td.tally data-client=(c) { @match e.tally.get(c) {
                    Some(t) => { @for v in Verdict::ALL { @if let Some(n) = t.get(&v) { span class={"v-" (v.as_str())} title=(v.as_str()) { (n) " " (v.as_str()) } " " } } }
                    None => { "–" }
                } }
            }
        }
    }
}

/// The runs a merged run joined, one phrase each: `part-1 (hash:1/3, 12 cases)`.
fn merged_list(run: &RunResults) -> String {
    run.merged_from
        .iter()
        .map(|m| {
            let mut about: Vec<String> = m.partition.iter().cloned().collect();
            if let Some(seed) = m.seed {
                about.push(format!("--seed {seed}"));
            }
            about.push(format!("{} cases", m.cases));
            if m.interrupted {
                about.push("interrupted".into());
            }
            format!("{} ({})", m.source, about.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn run_counts(run: &RunResults) -> Vec<(Verdict, usize)> {
    let counts = run.counts();
    Verdict::ALL
        .iter()
        .filter_map(|v| counts.get(v).map(|n| (*v, *n)))
        .collect()
}

/// The cases packed together: those of a scenario and its variants (`transfer/x` and
/// `transfer/x@personality=...`), ordered by client, then id. Measured on a run of 2,370
/// cases (six clients, 395 variants of 79 scenarios), a client's cases of a scenario's
/// variants look more alike than the clients' cases of one variant: packed so, the details
/// take 3.1 MB, per variant 5.5 MB.
fn packs(run: &RunResults) -> Vec<Vec<&CaseResult>> {
    let mut by_base: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for r in &run.results {
        let base = r.scenario.split('@').next().unwrap_or_default();
        by_base.entry(base).or_default().push(r);
    }
    by_base
        .into_values()
        .map(|mut cases| {
            cases.sort_by(|a, b| (&a.client, &a.scenario).cmp(&(&b.client, &b.scenario)));
            cases
        })
        .collect()
}

/// Between the cases of one pack, unpacked: a comment, which no escaped text can contain.
pub const CASE_SEPARATOR: &str = "<!--case-->";

/// A case's detail view: all but its heading and reason.
fn detail(r: &CaseResult, was: Option<Verdict>) -> Markup {
    let o = &r.observations;
    let ended = if o.timed_out {
        "killed at the scenario's time limit".to_owned()
    } else if let Some(e) = &o.client_error {
        format!("error: {e}")
    } else {
        match o.exit_code {
            Some(c) => format!("exit status {c}"),
            None if o.client_ok => "succeeded (in-process)".into(),
            None => "no exit status".into(),
        }
    };
    m! {
            @if let Some(q) = &r.quarantined { p { strong { "Quarantined: " } (clean(&truncate(q, 2000))) " (its verdict does not count toward the exit status)" } }
            @if !r.runs.is_empty() {
                h4 { "Runs: " (r.run_counts()) @if r.flaky { ", flaky" } }
                p.meta { "The verdict is the worst run's; what follows (network, transcript, output) is from run " (worst_run(r)) "." }
                ol.runs { @for o in &r.runs { li {
                    span class={"badge v-" (o.verdict.as_str())} { (o.verdict.as_str()) } " "
                    (format!("{:.1}", o.duration_ms as f64 / 1000.0)) " s: " (clean(&truncate(&o.reason, 2000)))
                } } }
            }
            dl.facts {
                dt { "scenario" } dd { (clean(&r.title)) }
                @if !r.axes.is_empty() { dt { "variant" } dd { (r.axes.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")) } }
                dt { "requirement" } dd { (clean(&r.requirement)) }
                @if !r.references.is_empty() { dt { "references" } dd { (r.references.join("; ")) } }
                dt { (r.role.as_str()) } dd { (clean(&r.client_version)) }
                dt { "network" } dd { (o.topology)
                    @if let Some(a) = o.server_addr { ", server at " (a) }
                    @if let (Some(a), Some(own)) = (o.server_addr, o.server_own_addr) { @if a != own { " (its own address " (own) ")" } } }
                @if r.role == crate::model::CaseRole::Server {
                    dt { "probe ran" } dd { (format!("{:.1}", o.client_ms as f64 / 1000.0)) " s; whole case " (format!("{:.1}", r.duration_ms as f64 / 1000.0)) " s; the server, stopped after it: " (ended) }
                } @else {
                    dt { "client ended" } dd { (ended) " after " (format!("{:.1}", o.client_ms as f64 / 1000.0)) " s; whole case " (format!("{:.1}", r.duration_ms as f64 / 1000.0)) " s" }
                }
                @if let Some(ok) = o.bytes_ok { dt { "data" } dd { @if ok { "right" } @else { "wrong or missing" } @if let Some(b) = o.bytes { " (" (b) " bytes)" } } }
                @if let Some(w) = was { dt { "baseline" } dd { (w.as_str()) } }
            }
            @if let Some(net) = &o.network { h4 { "Network" } (diagram(net, r)) }
            @if let Some(l) = ladder(o) {
                h4 { "Ladder" }
                p.meta { "What went between the hosts, in the order the server logged it (times since the server started); a connection a router dropped ends at that router, marked ✗. Routers record no times: a drop is placed after the reply that announced its address." }
                div.ladder { (ladder_svg(&l)) }
            }
            // The place for further per-case files (a packet capture, say): beside the
            // diagnostics bundle's link.
            @if let Some(path) = &r.diagnostics {
                p.diagnostics { a.diagnostics href=(path) { "Diagnostics bundle" } ": each router's nftables ruleset and conntrack table (FTP helper entries, expectations) and each host's sockets at the end of the case" }
            }
            @if let Some(path) = &r.capture {
                p.capture { a.capture href=(path) { "Packet capture" } " (pcapng): every interface of the network as host:link, TLS keys inside (Wireshark decrypts FTPS with no set-up)" }
            }
            @if !o.attempts.is_empty() {
                h4 { "What the routers saw" }
                ul.attempts { @for a in &o.attempts {
                    li class=(outcome_class(a.outcome)) { (outcome_sign(a.outcome)) " " (a.host) ": " (a.from) " → " (a.to) " " (outcome_word(a.outcome)) }
                } }
            }
            @if !o.steps.is_empty() {
                h4 { "Session steps" }
                ol.steps { @for step in &o.steps { li { (clean(step)) } } }
            }
            h4 { "Control connection" }
            pre.dialogue { @for line in clean(&truncate(&o.dialogue, 128 * 1024)).lines() {
                @if let Some(rest) = line.strip_prefix("C: ") { span.c { "C: " (rest) } "\n" }
                @else if line.starts_with("==") { span.tls { (line) } "\n" }
                @else { span.s { (line) } "\n" }
            } }
            @if !o.data_connections.is_empty() || !o.active_targets.is_empty() {
                h4 { "Data connections" }
                ul { @for d in &o.data_connections { li { code { (clean(d)) } } }
                     @for t in &o.active_targets { li { "announced with PORT/EPRT: " code { (t) } } } }
            }
            @if !o.command.is_empty() { h4 { "Client command" } pre { (clean(&shell_line(&o.command))) } }
            @if !o.stdout.trim().is_empty() { h4 { "stdout" } pre { (clean(&truncate(&o.stdout, 32 * 1024))) } }
            @if !o.stderr.trim().is_empty() { h4 { "stderr" } pre { (clean(&truncate(&o.stderr, 32 * 1024))) } }
            details { summary { @if r.role == crate::model::CaseRole::Server { "Server output and log" } @else { "Server event log" } } pre { (clean(&truncate(&o.transcript, 256 * 1024))) } }
            p.back { a href="#matrix" { "back to the matrix" } }
    }
}

/// A case's article: its heading and reason, and a place for its detail view, which is
/// case `i` of pack `n`.
fn case(r: &CaseResult, n: usize, i: usize) -> Markup {
    m! {
        article.case id=(case_id(&r.client, &r.scenario)) {
            h3 {
                span class={"badge v-" (r.verdict.as_str())} { (r.verdict.as_str()) } " "
                @if r.flaky { span.badge { "flaky" } " " }
                @if r.quarantined.is_some() { span.badge.q { "quarantined" } " " }
                (r.client) " · " (r.scenario)
            }
            p.reason { (clean(&truncate(&r.reason, 2000))) }
            div.detail data-pack=(n) data-i=(i) {}
        }
    }
}

/// The detail views of a scenario's cases (its variants' too, ordered by client; joined by [`CASE_SEPARATOR`]) as
/// the page carries them: zlib-compressed, then base64, for the page's script to inflate
/// (`DecompressionStream`) when one of them opens. The markup is most of a report's size;
/// packed per scenario (the cases' transcripts look alike) it shrinks about eightfold.
pub fn pack(markup: &str) -> String {
    base64(&miniz_oxide::deflate::compress_to_vec_zlib(
        markup.as_bytes(),
        9,
    ))
}

/// Standard base64, padded.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ABC[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// A matrix cell's hover text: the reason, and a flaky case's runs.
fn cell_title(r: &CaseResult) -> String {
    let mut t = r.reason.clone();
    if r.flaky {
        t = format!("flaky: {}; worst: {t}", r.run_counts());
    }
    if let Some(q) = &r.quarantined {
        t = format!("{t} (quarantined: {q})");
    }
    t
}

/// The 1-based number of the run a case's verdict and observations come from.
fn worst_run(r: &CaseResult) -> usize {
    r.runs
        .iter()
        .position(|o| o.verdict == r.verdict)
        .map_or(1, |i| i + 1)
}

fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn outcome_class(o: AttemptOutcome) -> &'static str {
    match o {
        AttemptOutcome::Forwarded => "forwarded",
        AttemptOutcome::Dropped => "dropped",
        AttemptOutcome::ReachedDecoy => "reached-decoy",
        AttemptOutcome::Translated => "translated",
    }
}

fn outcome_sign(o: AttemptOutcome) -> &'static str {
    match o {
        AttemptOutcome::Forwarded => "✓",
        AttemptOutcome::Dropped => "✗",
        AttemptOutcome::ReachedDecoy => "⚠",
        AttemptOutcome::Translated => "→",
    }
}

fn outcome_word(o: AttemptOutcome) -> &'static str {
    match o {
        AttemptOutcome::Forwarded => "forwarded",
        AttemptOutcome::Dropped => "dropped",
        AttemptOutcome::ReachedDecoy => "reached the decoy",
        AttemptOutcome::Translated => "left with this source address",
    }
}

/// The network as a row of hosts from the client to the server, routers between them
/// labelled with what they do, a decoy below the client, the addresses on each link, and
/// each router's recorded attempts under it.
fn diagram(net: &NetworkSummary, r: &CaseResult) -> Markup {
    let (order, decoys) = host_order(net);
    let start = order.first().copied().filter(|n| {
        net.hosts
            .iter()
            .any(|h| h.name == *n && h.role == Role::Client)
    });
    let (w, gap, top) = (150.0_f64, 110.0_f64, 30.0_f64);
    let x_of = |name: &str| -> Option<f64> {
        order
            .iter()
            .position(|n| *n == name)
            .map(|i| 20.0 + i as f64 * (w + gap))
    };
    let attempts_of = |host: &str| -> Vec<&crate::model::Attempt> {
        r.observations
            .attempts
            .iter()
            .filter(|a| a.host == host)
            .collect()
    };
    let max_attempts = order
        .iter()
        .chain(decoys.iter())
        .map(|h| attempts_of(h).len())
        .max()
        .unwrap_or(0);
    let decoy_row = if decoys.is_empty() { 0.0 } else { 110.0 };
    let height = top + 70.0 + decoy_row + 18.0 * max_attempts as f64 + 40.0;
    let width = 20.0 + order.len().max(1) as f64 * (w + gap);
    let host = |name: &str| net.hosts.iter().find(|h| h.name == name);
    let label = |name: &str| host(name).map(host_label).unwrap_or_default();
    let decoy_x = start.and_then(x_of).unwrap_or(20.0);
    m! {
        svg.net xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (width) " " (height)} width=(width) height=(height) role="img" aria-label={"network of " (r.scenario)} {
            @for l in &net.links {
                @let (xa, xb) = (x_of(&l.a).or(if decoys.contains(l.a.as_str()) { Some(decoy_x) } else { None }), x_of(&l.b).or(if decoys.contains(l.b.as_str()) { Some(decoy_x) } else { None }));
                @if let (Some(xa), Some(xb)) = (xa, xb) {
                    @let ya = if decoys.contains(l.a.as_str()) { top + 30.0 + decoy_row } else { top + 30.0 };
                    @let yb = if decoys.contains(l.b.as_str()) { top + 30.0 + decoy_row } else { top + 30.0 };
                    @if ya == yb {
                        @let (left, right, laddr, raddr) = if xa < xb { (xa, xb, &l.a_addrs, &l.b_addrs) } else { (xb, xa, &l.b_addrs, &l.a_addrs) };
                        line x1=(left + w) y1=(ya) x2=(right) y2=(yb) stroke="#57606a" stroke-width="2" {}
                        text x=(left + w + 4.0) y=(ya - 6.0) font-size="10" fill="#57606a" { (laddr.join(" ")) }
                        text x=(right - 4.0) y=(ya + 14.0) font-size="10" fill="#57606a" text-anchor="end" { (raddr.join(" ")) }
                    } @else {
                        @let (upper_addr, lower_addr) = if ya < yb { (&l.a_addrs, &l.b_addrs) } else { (&l.b_addrs, &l.a_addrs) };
                        line x1=(decoy_x + w / 2.0) y1=(top + 60.0) x2=(decoy_x + w / 2.0) y2=(top + decoy_row) stroke="#57606a" stroke-width="2" stroke-dasharray="4 3" {}
                        text x=(decoy_x + w / 2.0 + 6.0) y=(top + 76.0) font-size="10" fill="#57606a" { (upper_addr.join(" ")) }
                        text x=(decoy_x + w / 2.0 + 6.0) y=(top + decoy_row - 4.0) font-size="10" fill="#57606a" { (lower_addr.join(" ")) }
                    }
                }
            }
            @for name in &order {
                @let x = x_of(name).unwrap_or(20.0);
                @let fill = match host(name).map(|h| h.role) { Some(Role::Router) => "#fff8c5", Some(Role::Client) => "#ddf4ff", Some(Role::Server) => "#dafbe1", _ => "#f6f8fa" };
                rect x=(x) y=(top) width=(w) height="60" rx="6" fill=(fill) stroke="#57606a" {}
                text x=(x + w / 2.0) y=(top + 24.0) font-size="13" font-weight="600" text-anchor="middle" { (name) }
                text x=(x + w / 2.0) y=(top + 42.0) font-size="11" text-anchor="middle" fill="#57606a" { (label(name)) }
                @for (i, a) in attempts_of(name).iter().enumerate() {
                    text x=(x) y=(top + 84.0 + decoy_row + 18.0 * i as f64) font-size="11" fill=(match a.outcome { AttemptOutcome::Dropped => "#cf222e", AttemptOutcome::Forwarded => "#1a7f37", AttemptOutcome::ReachedDecoy => "#8250df", AttemptOutcome::Translated => "#57606a" }) {
                        (outcome_sign(a.outcome)) " " (a.from) " → " (a.to)
                    }
                }
            }
            @for name in &decoys {
                @let y = top + decoy_row;
                @let hit = !attempts_of(name).is_empty();
                rect x=(decoy_x) y=(y) width=(w) height="60" rx="6" fill=(if hit { "#ffebe9" } else { "#f6f8fa" }) stroke=(if hit { "#cf222e" } else { "#57606a" }) {}
                text x=(decoy_x + w / 2.0) y=(y + 24.0) font-size="13" font-weight="600" text-anchor="middle" { (name) }
                text x=(decoy_x + w / 2.0) y=(y + 42.0) font-size="11" text-anchor="middle" fill=(if hit { "#cf222e" } else { "#57606a" }) {
                    @if hit { "reached: " (attempts_of(name).len()) } @else { "decoy, untouched" }
                }
            }
        }
    }
}

/// A page [`html`] wrote, with each case's packed detail view unpacked in place and the
/// packs removed: what the page's script does when a case opens, for every case at once (to
/// read or test a report without a browser). An error says what is malformed.
pub fn unpack(page: &str) -> Result<String, String> {
    const PACK: &str = "<div class=\"pack\" hidden id=\"pack-";
    const DATA: &str = " data-z=\"";
    let mut parts: Vec<Vec<String>> = Vec::new();
    let mut out = String::with_capacity(page.len() * 4);
    let mut rest = page;
    while let Some(i) = rest.find(PACK) {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let z = after.find(DATA).ok_or("a pack without data")? + DATA.len();
        let end = z + after[z..].find('"').ok_or("an unclosed pack")?;
        let packed = unbase64(&after[z..end])?;
        let markup = miniz_oxide::inflate::decompress_to_vec_zlib(&packed)
            .map_err(|e| format!("a pack is not zlib data: {e:?}"))?;
        let markup = String::from_utf8(markup).map_err(|_| "a pack is not UTF-8")?;
        parts.push(markup.split(CASE_SEPARATOR).map(str::to_owned).collect());
        let close = after[end..].find("</div>").ok_or("an unclosed pack")?;
        rest = &after[end + close + "</div>".len()..];
    }
    out.push_str(rest);
    for (n, pack) in parts.iter().enumerate() {
        for (i, detail) in pack.iter().enumerate() {
            let slot = format!("<div class=\"detail\" data-pack=\"{n}\" data-i=\"{i}\"></div>");
            if !out.contains(&slot) {
                return Err(format!("no place for case {i} of pack {n}"));
            }
            out = out.replace(&slot, &format!("<div class=\"detail\">{detail}</div>"));
        }
    }
    Ok(out)
}

/// Standard base64, padded, back to bytes.
fn unbase64(text: &str) -> Result<Vec<u8>, String> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Ok(c - b'A'),
        b'a'..=b'z' => Ok(c - b'a' + 26),
        b'0'..=b'9' => Ok(c - b'0' + 52),
        b'+' => Ok(62),
        b'/' => Ok(63),
        _ => Err(format!("not base64: {:?}", c as char)),
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for chunk in text.as_bytes().chunks(4) {
        let digits: Vec<u8> = chunk.iter().take_while(|c| **c != b'=').copied().collect();
        let mut n = 0u32;
        for (i, c) in digits.iter().enumerate() {
            n |= u32::from(value(*c)?) << (18 - 6 * i);
        }
        out.extend((0..digits.len().saturating_sub(1)).map(|i| (n >> (16 - 8 * i)) as u8));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for len in 0..10 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
            assert_eq!(unbase64(&base64(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert!(unbase64("Zm9v!").is_err());
    }

    #[test]
    fn a_broken_pack_is_an_error_not_a_panic() {
        let page = "<div class=\"pack\" hidden id=\"pack-0\" data-z=\"Zm9v\"></div>";
        assert!(unpack(page).unwrap_err().contains("zlib"));
        assert!(unpack("<div class=\"pack\" hidden id=\"pack-0\">").is_err());
        assert_eq!(unpack("<p>no packs</p>").unwrap(), "<p>no packs</p>");
    }
}
