//! Compression Identified Exemplars (Hooker et al. 2020): the examples where the modal label of
//! the teacher population differs from a student population's.
//!
//! Definitions (also in every report's conventions), over every example:
//! - CIE share = CIE examples / examples;
//! - accuracy on CIE and elsewhere: each member's accuracy over the labelled examples of the
//!   subset, averaged over the population's members;
//! - per group: its CIE share, and its representation = (the group's share of the CIE) / (its
//!   share of the data); above 1, the CIE concentrate in the group.

use super::modal_labels;
use crate::subgroups::Group;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CieGroup {
    pub name: String,
    pub n: usize,
    pub cie: usize,
    pub cie_share: f64,
    /// (cie / all CIE) / (n / examples); absent when there is no CIE.
    pub representation: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CieReport {
    pub teacher_members: usize,
    pub student_members: usize,
    pub examples: usize,
    pub cie: usize,
    pub cie_share: f64,
    /// Mean member accuracy of each population on the CIE and on the other examples.
    pub teacher_accuracy_on_cie: Option<f64>,
    pub teacher_accuracy_elsewhere: Option<f64>,
    pub student_accuracy_on_cie: Option<f64>,
    pub student_accuracy_elsewhere: Option<f64>,
    /// In the data's group order.
    pub groups: Vec<CieGroup>,
}

/// Mean over members of each member's accuracy on the labelled examples where `keep` holds.
fn mean_accuracy(gold: &[Option<usize>], members: &[Vec<u16>], keep: &[bool]) -> Option<f64> {
    let labelled = gold.iter().zip(keep).filter(|(g, k)| g.is_some() && **k).count();
    if labelled == 0 || members.is_empty() {
        return None;
    }
    let right = |m: &Vec<u16>| gold.iter().zip(m).zip(keep).filter(|((g, l), k)| **k && **g == Some(**l as usize)).count();
    Some(members.iter().map(|m| right(m) as f64 / labelled as f64).sum::<f64>() / members.len() as f64)
}

/// The CIE of a student population against the teacher population (`[member][example]` labels).
pub fn analyse(gold: &[Option<usize>], teacher: &[Vec<u16>], student: &[Vec<u16>], groups: &[Group]) -> CieReport {
    let (t, s) = (modal_labels(teacher), modal_labels(student));
    let is_cie: Vec<bool> = t.iter().zip(&s).map(|(a, b)| a != b).collect();
    let rest: Vec<bool> = is_cie.iter().map(|c| !c).collect();
    let (n, cie) = (is_cie.len(), is_cie.iter().filter(|c| **c).count());
    let share = |part: usize, of: usize| if of == 0 { 0.0 } else { part as f64 / of as f64 };
    CieReport {
        teacher_members: teacher.len(),
        student_members: student.len(),
        examples: n,
        cie,
        cie_share: share(cie, n),
        teacher_accuracy_on_cie: mean_accuracy(gold, teacher, &is_cie),
        teacher_accuracy_elsewhere: mean_accuracy(gold, teacher, &rest),
        student_accuracy_on_cie: mean_accuracy(gold, student, &is_cie),
        student_accuracy_elsewhere: mean_accuracy(gold, student, &rest),
        groups: groups
            .iter()
            .map(|g| {
                let in_group = g.members.iter().filter(|&&i| is_cie[i]).count();
                CieGroup {
                    name: g.name.clone(),
                    n: g.members.len(),
                    cie: in_group,
                    cie_share: share(in_group, g.members.len()),
                    representation: (cie > 0 && !g.members.is_empty()).then(|| share(in_group, cie) / share(g.members.len(), n)),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn group(name: &str, members: Vec<usize>) -> Group {
        Group { name: name.into(), attributes: vec![], members }
    }

    #[test]
    fn a_worked_example() {
        // Modal labels: teacher [0, 1, 1, 2, 0, 1], student [0, 0, 1, 0, 0, 1] (example 4 a tie: 0):
        // CIE at 1 and 3.
        let gold = [Some(0), Some(1), Some(1), Some(2), None, Some(1)];
        let teacher = vec![vec![0, 1, 1, 2, 0, 1], vec![0, 1, 0, 2, 0, 1], vec![1, 1, 1, 0, 0, 1]];
        let student = vec![vec![0, 0, 1, 0, 0, 1], vec![0, 0, 1, 0, 1, 1]];
        let groups = [group("a", vec![0, 1, 2]), group("b", vec![3, 4, 5])];
        let r = analyse(&gold, &teacher, &student, &groups);
        assert_eq!((r.cie, r.examples, r.cie_share), (2, 6, 2.0 / 6.0));
        // Teacher members on CIE {1, 3}: 2/2, 2/2, 1/2 -> mean 5/6; elsewhere {0, 2, 5} (4 unlabelled):
        // 3/3, 2/3, 2/3 -> 7/9. Student on CIE: 0/2, 0/2; elsewhere: 3/3, 3/3.
        assert!((r.teacher_accuracy_on_cie.unwrap() - 5.0 / 6.0).abs() < 1e-15);
        assert!((r.teacher_accuracy_elsewhere.unwrap() - 7.0 / 9.0).abs() < 1e-15);
        assert_eq!(r.student_accuracy_on_cie, Some(0.0));
        assert_eq!(r.student_accuracy_elsewhere, Some(1.0));
        // Each group holds one CIE of two and half the data: representation 1.
        assert_eq!(r.groups.iter().map(|g| (g.cie, g.representation)).collect::<Vec<_>>(), vec![(1, Some(1.0)), (1, Some(1.0))]);
    }

    fn populations() -> impl Strategy<Value = (Vec<Vec<u16>>, Vec<Vec<u16>>, Vec<Option<usize>>)> {
        (1usize..40).prop_flat_map(|n| {
            let member = prop::collection::vec(0u16..3, n);
            (
                prop::collection::vec(member.clone(), 1..6),
                prop::collection::vec(member, 1..6),
                prop::collection::vec(prop::option::of(0usize..3), n),
            )
        })
    }

    proptest! {
        /// A population compared with itself has no CIE.
        #[test]
        fn identical_populations_have_no_cie((teacher, _, gold) in populations()) {
            let r = analyse(&gold, &teacher, &teacher, &[group("all", (0..gold.len()).collect())]);
            prop_assert_eq!(r.cie, 0);
            prop_assert_eq!(r.teacher_accuracy_on_cie, None);
            prop_assert_eq!(r.groups[0].representation, None);
        }

        /// Which population is called the teacher does not change the CIE.
        #[test]
        fn cie_is_symmetric((teacher, student, gold) in populations()) {
            let groups = [group("even", (0..gold.len()).step_by(2).collect())];
            let (a, b) = (analyse(&gold, &teacher, &student, &groups), analyse(&gold, &student, &teacher, &groups));
            prop_assert_eq!((a.cie, &a.groups), (b.cie, &b.groups));
            prop_assert_eq!((a.teacher_accuracy_on_cie, a.student_accuracy_on_cie), (b.student_accuracy_on_cie, b.teacher_accuracy_on_cie));
        }
    }
}
