//! The `fidelity` binary: parse, run, map the outcome to an exit code.
//!
//! Exit codes: 0 all passed, 1 a gate failed, 2 an error (bad input, missing file, runtime failure).

use clap::Parser;
use fidelity::cli::{Cli, Command};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", context_chain(&e));
            ExitCode::from(2)
        }
    }
}

/// The machine's roofs on the CPU provider, measured now or read from the cache.
fn machine_peaks(
    machine: &fidelity::machine::MachineInfo,
    threads: Option<usize>,
    ort_lib: Option<&std::path::Path>,
) -> anyhow::Result<fidelity::roofline::MachinePeaks> {
    let runtime = fidelity::model::Runtime::load(ort_lib, threads)?;
    fidelity::roofline::peaks::cached_or_measured(&runtime, fidelity::model::Device::Cpu, machine).map_err(|e| anyhow::anyhow!("machine peaks: {e}"))
}

/// Writes to stdout; a closed pipe (`fidelity ... | head`) is not an error.
fn print(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The error and its causes, each cause added only when the message does not already say it
/// (fidelity's errors quote their cause, so a plain chain would repeat it).
fn context_chain(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message
}

/// Prints the terminal table; exit 1 when a release gate failed (every check is in the table and
/// the reports).
fn table_and_verdict(report: &fidelity::report::Report, show_groups: usize) -> anyhow::Result<ExitCode> {
    let table = fidelity::report::terminal::render_with(report, fidelity::report::terminal::TerminalOptions { show_groups });
    print(&table)?;
    Ok(if report.gate.all_passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `fidelity locate`: the table, and the JSON with --out.
fn locate(args: &fidelity::cli::LocateArgs) -> anyhow::Result<ExitCode> {
    let plan = fidelity::plan::locate::LocatePlan::from_args(args)?;
    let report = fidelity::locate::run(&plan)?;
    if let Some(out) = &plan.out {
        let json = serde_json::to_vec_pretty(&report)?;
        fidelity::report::files::write_atomically(out, &json)?;
    }
    if let Some(html) = &plan.html {
        fidelity::report::files::write_atomically(html, fidelity::locate::html::render(&report).as_bytes())?;
    }
    print(fidelity::locate::terminal::render(&report).as_bytes())
}

/// `fidelity render`: a JSON report's table, and the other formats written again.
fn render(args: &fidelity::cli::RenderArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.report).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.report.display()))?;
    let report: fidelity::report::Report = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a classifier report of this fidelity version ({e}); language-model reports have their own Markdown and HTML, written by compare",
            args.report.display()
        )
    })?;
    let writes = [
        (&args.also.markdown, fidelity::report::markdown::render as fn(&fidelity::report::Report) -> Vec<u8>),
        (&args.also.html, fidelity::report::html::render),
        (&args.also.junit, fidelity::report::junit::render),
    ];
    for (path, writer) in writes {
        if let Some(path) = path {
            fidelity::report::files::write_atomically(path, &writer(&report))?;
        }
    }
    if args.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    print(&fidelity::report::terminal::render(&report))
}

/// `fidelity cache ls|du|prune`.
fn cache_command(action: fidelity::cli::CacheAction, dir: Option<std::path::PathBuf>) -> anyhow::Result<ExitCode> {
    use fidelity::cli::CacheAction;
    let Some(dir) = dir.or_else(fidelity::cache::default_dir) else {
        anyhow::bail!("no cache folder: set --cache DIR or FIDELITY_CACHE (HOME is not set either)");
    };
    let now = std::time::SystemTime::now();
    let text = match action {
        CacheAction::Ls => fidelity::cache::manage::ls(&dir, now)?,
        CacheAction::Du => fidelity::cache::manage::du(&dir)?,
        CacheAction::Prune { older_than } => {
            let limit = match older_than {
                Some(days) if !(days.is_finite() && days >= 0.0) => anyhow::bail!("--older-than {days}: give a number of days, 0 or more"),
                days => days.map(|d| std::time::Duration::from_secs_f64(d * 86_400.0)),
            };
            fidelity::cache::manage::prune(&dir, limit, now)?
        }
    };
    print(text.as_bytes())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Compare(args) => {
            let args = *args;
            match fidelity::plan::language_model::task(&args)? {
                fidelity::cli::Task::CausalLm => {
                    let plan = fidelity::plan::language_model::LmPlan::from_args(&args)?;
                    let report = fidelity::pipeline::language_model::run(&plan)?;
                    print(fidelity::report::language_model::render_terminal(&report).as_bytes())?;
                    return Ok(if report.gate.all_passed() { ExitCode::SUCCESS } else { ExitCode::from(1) });
                }
                fidelity::cli::Task::MultipleChoice => {
                    let plan = fidelity::plan::multiple_choice::ChoicePlan::from_args(&args)?;
                    let report = fidelity::pipeline::multiple_choice::run(&plan)?;
                    return table_and_verdict(&report, plan.compare.show_groups);
                }
                fidelity::cli::Task::Classify | fidelity::cli::Task::Auto => {}
            }
            let plan = fidelity::plan::ComparePlan::from_args(&args)?;
            if let Some(shard) = plan.shard {
                // A part is judged when merged: its exit code says only that it was written.
                let part = fidelity::pipeline::shard::run(&plan, shard)?;
                return print(format!("{}\n", part.path.display()).as_bytes());
            }
            let report = fidelity::pipeline::run(&plan)?;
            table_and_verdict(&report, plan.show_groups)
        }
        Command::Merge(args) => {
            let reports = fidelity::plan::ReportPaths {
                json: args.out.clone().unwrap_or_else(|| fidelity::pipeline::merge::default_report_path(&args.parts[0])),
                markdown: args.also.markdown.clone(),
                html: args.also.html.clone(),
                junit: args.also.junit.clone(),
            };
            let report = fidelity::pipeline::merge::merge(&args.parts, &reports)?;
            eprintln!("fidelity: merged {} parts; report written to {}", args.parts.len(), reports.json.display());
            table_and_verdict(&report, args.show_groups.unwrap_or(20))
        }
        Command::Locate(args) => locate(&args),
        Command::Bench(args) => {
            let args = *args;
            let plan = fidelity::plan::ComparePlan::from_args(&args)?;
            let report = fidelity::pipeline::bench::run(&plan)?;
            if let Some(out) = &args.out {
                let json = serde_json::to_vec_pretty(&report)?;
                fidelity::report::files::write_atomically(out, &json)?;
            }
            match std::io::stdout().write_all(fidelity::pipeline::bench::render(&report).as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
                _ => {}
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cache { action, cache } => cache_command(action, cache),
        Command::Render(args) => render(&args),
        Command::Schema => print(&fidelity::report::json::schema()),
        Command::Machine { json, peaks, threads, ort_lib } => {
            let machine = fidelity::machine::MachineInfo::detect();
            let peaks = if peaks { Some(machine_peaks(&machine, threads, ort_lib.as_deref())?) } else { None };
            let text = if json {
                let mut value = serde_json::to_value(&machine)?;
                if let Some(p) = &peaks {
                    value["peaks"] = serde_json::to_value(p)?;
                }
                serde_json::to_string_pretty(&value)? + "\n"
            } else {
                let mut text = format!("{}\nkernel class: {}\n", machine.summary(), machine.kernels.class);
                if let Some(p) = &peaks {
                    text += &fidelity::report::format_roofline::peaks_text(p);
                }
                text
            };
            print(text.as_bytes())
        }
    }
}
