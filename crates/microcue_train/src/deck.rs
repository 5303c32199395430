//! A seeded, shuffled deck of cues shared by the mirror drill and the roleplay cards: every cue
//! comes once before any repeats.

use microcue_core::CueId;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Shuffled cues, reshuffled when empty.
#[derive(Debug, Clone)]
pub(crate) struct CueDeck {
    /// The deck's random source (callers may draw more from it, e.g. a side).
    pub(crate) rng: ChaCha8Rng,
    cues: Vec<CueId>,
    deck: Vec<CueId>,
}

impl CueDeck {
    /// A deck over the supported ones of `cues` (all supported cues when none is given).
    pub(crate) fn new(cues: &[CueId], seed: u64) -> CueDeck {
        let mut cues: Vec<CueId> = cues.iter().copied().filter(|c| c.is_supported()).collect();
        if cues.is_empty() {
            cues = CueId::ALL
                .into_iter()
                .filter(|c| c.is_supported())
                .collect();
        }
        CueDeck {
            rng: ChaCha8Rng::seed_from_u64(seed),
            cues,
            deck: Vec::new(),
        }
    }

    /// The next cue; the deck is reshuffled when empty.
    pub(crate) fn draw(&mut self) -> CueId {
        if self.deck.is_empty() {
            self.deck = self.cues.clone();
            self.deck.shuffle(&mut self.rng);
        }
        self.deck.pop().unwrap_or(CueId::EyebrowFlash)
    }
}
