//! `--shard auto`: K/N from the batch engine that started this process.
//!
//! - Slurm job arrays: `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN`, `SLURM_ARRAY_TASK_COUNT`
//!   (and `SLURM_ARRAY_TASK_STEP` for `--array=0-30:10`): K = (id − min) / step.
//! - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (0-based) with `--shards N` (the Job's
//!   `completions`; Kubernetes does not pass it to the pod).
//!
//! A CI matrix passes `--shard K/N` itself.

use super::Shard;

const SLURM: [&str; 3] = ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT"];
const KUBERNETES: &str = "JOB_COMPLETION_INDEX";

/// The shard from the environment (`var` looks a variable up); `shards` is `--shards`.
pub fn from_env(var: impl Fn(&str) -> Option<String>, shards: Option<usize>) -> Result<Shard, String> {
    let number = |name: &str| -> Result<Option<usize>, String> {
        match var(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| format!("--shard auto: {name}={v} is not a whole number")),
        }
    };
    let read = || format!("read {}, SLURM_ARRAY_TASK_STEP and {KUBERNETES} (with --shards N)", SLURM.join(", "));
    if let Some(id) = number(SLURM[0])? {
        let (Some(min), Some(count)) = (number(SLURM[1])?, number(SLURM[2])?) else {
            return Err(format!("--shard auto: SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT; {}", read()));
        };
        let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let index = id.checked_sub(min).map(|d| d / step);
        return match index {
            Some(index) if index < count && shards.is_none_or(|n| n == count) => Ok(Shard { index, count }),
            _ => Err(format!(
                "--shard auto: SLURM_ARRAY_TASK_ID={id} with SLURM_ARRAY_TASK_MIN={min}, SLURM_ARRAY_TASK_STEP={step} and SLURM_ARRAY_TASK_COUNT={count}{} is not a shard of {count}; submit the array as --array=0-{}",
                shards.map(|n| format!(" (and --shards {n})")).unwrap_or_default(),
                count.saturating_sub(1)
            )),
        };
    }
    if let Some(index) = number(KUBERNETES)? {
        let Some(count) = shards else {
            return Err(format!("--shard auto: {KUBERNETES}={index} is set but the number of shards is not: pass --shards N (the Job's completions)"));
        };
        return if index < count {
            Ok(Shard { index, count })
        } else {
            Err(format!("--shard auto: {KUBERNETES}={index} is not a shard of --shards {count} (indices run 0 to {})", count.saturating_sub(1)))
        };
    }
    Err(format!("--shard auto: no batch engine variables are set ({}); pass --shard K/N", read()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn slurm_arrays_and_indexed_jobs() {
        let slurm = [("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "3"), ("SLURM_ARRAY_TASK_COUNT", "4")];
        assert_eq!(from_env(env(&slurm), None).unwrap(), Shard { index: 2, count: 4 });
        let stepped = [("SLURM_ARRAY_TASK_ID", "20"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_STEP", "10")];
        assert_eq!(from_env(env(&stepped), None).unwrap(), Shard { index: 2, count: 4 });
        assert_eq!(from_env(env(&[("JOB_COMPLETION_INDEX", "0")]), Some(3)).unwrap(), Shard { index: 0, count: 3 });
    }

    #[test]
    fn out_of_range_or_missing_names_the_variables() {
        let outside = [("SLURM_ARRAY_TASK_ID", "9"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_COUNT", "4")];
        assert!(from_env(env(&outside), None).unwrap_err().contains("SLURM_ARRAY_TASK_ID=9"));
        let e = from_env(env(&[("JOB_COMPLETION_INDEX", "3")]), Some(3)).unwrap_err();
        assert!(e.contains("JOB_COMPLETION_INDEX=3") && e.contains("--shards 3"), "{e}");
        assert!(from_env(env(&[("JOB_COMPLETION_INDEX", "1")]), None).unwrap_err().contains("--shards N"));
        let e = from_env(env(&[]), None).unwrap_err();
        assert!(e.contains("SLURM_ARRAY_TASK_ID") && e.contains("JOB_COMPLETION_INDEX") && e.contains("--shard K/N"), "{e}");
    }
}
