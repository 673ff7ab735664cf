//! Accuracy within one population: each member's, their mean, spread and range.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct PopulationMember {
    pub name: String,
    pub path: std::path::PathBuf,
    /// Over the labelled examples; absent without labels.
    pub accuracy: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct PopulationSummary {
    /// The role's own model first.
    pub members: Vec<PopulationMember>,
    pub mean_accuracy: Option<f64>,
    /// Sample standard deviation (n − 1) of the members' accuracies: seed noise. Absent for one member.
    pub accuracy_std: Option<f64>,
    pub min_accuracy: Option<f64>,
    pub max_accuracy: Option<f64>,
    /// Accuracy of the population's modal label.
    pub modal_accuracy: Option<f64>,
}

/// Share of the labelled examples `labels` gets right; `None` without labelled examples.
pub fn accuracy(gold: &[Option<usize>], labels: &[u16]) -> Option<f64> {
    let labelled = gold.iter().filter(|g| g.is_some()).count();
    let right = gold.iter().zip(labels).filter(|(g, l)| **g == Some(**l as usize)).count();
    (labelled > 0).then(|| right as f64 / labelled as f64)
}

/// `members[m]` is member m's labels; `names` and `paths` name them, in the same order.
pub fn summarise(gold: &[Option<usize>], members: &[Vec<u16>], names: &[(String, std::path::PathBuf)]) -> PopulationSummary {
    let accuracies: Vec<Option<f64>> = members.iter().map(|m| accuracy(gold, m)).collect();
    let known: Vec<f64> = accuracies.iter().flatten().copied().collect();
    let k = known.len() as f64;
    let mean = (!known.is_empty()).then(|| known.iter().sum::<f64>() / k);
    let std = mean.filter(|_| known.len() > 1).map(|m| (known.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (k - 1.0)).sqrt());
    PopulationSummary {
        members: names.iter().zip(&accuracies).map(|((name, path), &accuracy)| PopulationMember { name: name.clone(), path: path.clone(), accuracy }).collect(),
        mean_accuracy: mean,
        accuracy_std: std,
        min_accuracy: known.iter().copied().reduce(f64::min),
        max_accuracy: known.iter().copied().reduce(f64::max),
        modal_accuracy: accuracy(gold, &super::modal_labels(members)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worked_example() {
        let gold = [Some(0), Some(1), Some(1), None];
        let members = vec![vec![0, 1, 1, 0], vec![0, 0, 1, 1], vec![1, 0, 0, 1]];
        let names: Vec<(String, std::path::PathBuf)> = (0..3).map(|k| (format!("m{k}"), format!("m{k}.onnx").into())).collect();
        let s = summarise(&gold, &members, &names);
        // accuracies 3/3, 2/3, 0/3: mean 5/9; numpy.std([1, 2/3, 0], ddof=1) = 0.5091750772173156.
        assert_eq!(s.members.iter().map(|m| m.accuracy).collect::<Vec<_>>(), vec![Some(1.0), Some(2.0 / 3.0), Some(0.0)]);
        assert!((s.mean_accuracy.unwrap() - 5.0 / 9.0).abs() < 1e-15);
        assert!((s.accuracy_std.unwrap() - 0.509_175_077_217_315_6).abs() < 1e-15);
        assert_eq!((s.min_accuracy, s.max_accuracy), (Some(0.0), Some(1.0)));
        // modal labels [0, 0, 1, 1]: right on examples 0 and 2.
        assert_eq!(s.modal_accuracy, Some(2.0 / 3.0));
        assert_eq!(summarise(&gold, &members[..1], &names[..1]).accuracy_std, None);
    }
}
