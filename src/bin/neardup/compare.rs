//! `neardup compare`: two documents, the decision on them and its reasons.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;
use neardup::compare::{RaritySource, compare, corpus_documents, read_document, reference_stats};

use crate::args::{ColorArg, CompareArgs, EvalFormat};

pub fn run(a: &CompareArgs) -> Result<()> {
    let config = a.sim.config()?;
    let fields = a.input.fields();
    let (stats, [da, db], rarity) = if let Some(corpus) = &a.corpus {
        let (stats, docs) =
            corpus_documents(corpus, &fields, a.input.skip_invalid, &config, [&a.a, &a.b])?;
        let documents = stats.docs();
        let rarity = RaritySource::Corpus {
            path: corpus.clone(),
            documents,
        };
        (stats, docs, rarity)
    } else {
        let da = read_document(Path::new(&a.a), &fields)?;
        let db = read_document(Path::new(&a.b), &fields)?;
        let stats = reference_stats(&da, &db, &config);
        let documents = stats.docs();
        (stats, [da, db], RaritySource::Reference { documents })
    };
    let result = compare(da, db, &config, &stats, rarity);
    let color = match a.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    crate::write_output(None, |out| match a.format {
        EvalFormat::Text => result.write_text(out, color),
        EvalFormat::Json => result.write_json(out),
    })
}
