//! Which worker gets the next request.

use std::sync::Arc;

use crate::datapath::endpoint::Endpoint;

/// Of the workers with room for another request (see [`Endpoint::has_room`]), the one
/// with the fewest requests in flight. Ties go to the one after `start` (a rotating
/// index), so equally idle workers share the load instead of the first one taking
/// everything.
pub fn least_in_flight(
    candidates: &[Arc<Endpoint>],
    start: usize,
    max: usize,
) -> Option<&Arc<Endpoint>> {
    pick_by(candidates, start, |e| {
        if e.has_room(max) {
            e.in_flight()
        } else {
            usize::MAX
        }
    })
    .filter(|e| e.has_room(max))
}

fn pick_by<T>(items: &[T], start: usize, load: impl Fn(&T) -> usize) -> Option<&T> {
    let len = items.len();
    (0..len)
        .map(|k| &items[(start + k) % len])
        .min_by_key(|item| load(item))
}

#[cfg(test)]
mod tests {
    use super::pick_by;

    #[test]
    fn picks_the_least_loaded() {
        let loads = [3, 1, 2];
        assert_eq!(pick_by(&loads, 0, |l| *l), Some(&1));
        assert_eq!(pick_by(&loads, 2, |l| *l), Some(&1));
    }

    #[test]
    fn rotates_among_ties() {
        let loads = [(0, 'a'), (0, 'b'), (0, 'c')];
        let picked: Vec<char> = (0..3)
            .map(|s| pick_by(&loads, s, |l| l.0).unwrap().1)
            .collect();
        assert_eq!(picked, ['a', 'b', 'c']);
    }

    #[test]
    fn nothing_to_pick_from_an_empty_set() {
        let loads: [usize; 0] = [];
        assert_eq!(pick_by(&loads, 5, |l| *l), None);
    }
}
