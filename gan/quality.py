"""`Quality`: the sample-quality figures of one set of generated digits (see gan.metrics,
which measures them), with the warnings they give. Numpy-free."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

VANISHED_SHARE = 0.01  # a digit below 1% of samples counts as missing
COVERAGE_NEEDS = 0.5  # which digits G draws is judged once this share is recognizable
WITHIN_DIGIT_LOW = 0.35  # a digit whose samples vary less than this (vs real ones) collapsed
WITHIN_DIGIT_NEEDS = 5  # recognizable samples of a digit before its diversity is judged


@dataclass(frozen=True)
class Quality:
    """Quality figures of one set of generated digits."""

    n: int
    recognizability: float
    class_shares: list[float]
    smallest_share: float
    entropy: float  # the spread: of the recognizable samples' digits, 1.0 = perfectly even
    missing_digits: list[int]
    frechet_distance: float
    frechet_floor: float  # real test digits vs real test digits, same sample size
    pixel_diversity: float  # relative to real digits (1.0 = as diverse as MNIST)
    asked_digit_accuracy: float | None = None  # models that can be asked for a digit
    # per digit, relative to real digits (1.0 = as varied); None: too few samples of it
    digit_diversity: list[float | None] = field(default_factory=list)

    @property
    def collapsed_digits(self) -> list[int]:
        """Digits whose samples vary less than WITHIN_DIGIT_LOW of real ones (while
        `too_early`, none)."""
        if self.too_early:
            return []
        return [
            digit
            for digit, diversity in enumerate(self.digit_diversity)
            if diversity is not None and diversity < WITHIN_DIGIT_LOW
        ]

    @property
    def smallest_digit_diversity(self) -> float | None:
        """The least varied digit's within-digit diversity, or None if none was judged."""
        judged = [d for d in self.digit_diversity if d is not None]
        return min(judged) if judged else None

    @property
    def too_early(self) -> bool:
        """True while too few samples are recognizable to tell which digits G draws: an
        untrained G's blobs get arbitrary labels, which is not mode collapse."""
        return self.recognizability < COVERAGE_NEEDS

    @property
    def collapse_warning(self) -> str | None:
        """A sentence when digits are missing or one digit's samples are (nearly) all alike
        (mode collapse), else None (also while `too_early`)."""
        if self.too_early:
            return None
        sentences = []
        if self.missing_digits:
            digits = ", ".join(map(str, self.missing_digits))
            sentences.append(f"Mode collapse: digit(s) {digits} (almost) never appear.")
        if self.collapsed_digits:
            worst = min(self.collapsed_digits, key=lambda d: self.digit_diversity[d])
            digits = ", ".join(map(str, self.collapsed_digits))
            sentences.append(
                f"Mode collapse within digit {digits}: the samples of {worst} vary "
                f"{self.digit_diversity[worst]:.2f}x as much as real {worst}s."
            )
        return " ".join(sentences) or None

    @property
    def coverage_note(self) -> str | None:
        """While `too_early`, a sentence saying so; else None."""
        if not self.too_early:
            return None
        return (
            f"Too early to tell which digits G covers: {self.recognizability:.0%} of the "
            f"samples are recognizable so far, and coverage is judged from "
            f"{COVERAGE_NEEDS:.0%}."
        )

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "collapse_warning": self.collapse_warning,
            "coverage_note": self.coverage_note,
            "collapsed_digits": self.collapsed_digits,
        }

    def report(self) -> list[str]:
        """The figures as a few readable lines (what `python -m gan evaluate` prints)."""
        shares = "  ".join(f"{d}: {s:.1%}" for d, s in enumerate(self.class_shares))
        smallest = self.class_shares.index(min(self.class_shares))
        ratio = self.frechet_distance / self.frechet_floor
        lines = [
            f"samples: {self.n:,}",
            f"recognizable (classifier confidence >= 0.9): {self.recognizability:.1%}",
            f"class shares: {shares}",
            f"smallest class share: {self.smallest_share:.1%} (digit {smallest}); "
            f"spread {self.entropy:.3f} (entropy of the recognizable samples' digits, 1 = even)",
            f"Frechet digit distance: {self.frechet_distance:.2f} (real-vs-real floor "
            f"{self.frechet_floor:.2f}, {ratio:.1f}x)",
            f"pixel diversity vs real digits: {self.pixel_diversity:.2f} (1 = as varied as MNIST)",
            "within-digit diversity vs real digits: "
            + "  ".join(
                f"{d}: {'—' if v is None else f'{v:.2f}'}"
                for d, v in enumerate(self.digit_diversity)
            ),
        ]
        if self.asked_digit_accuracy is not None:
            lines.append(f"asked digit recognized: {self.asked_digit_accuracy:.1%}")
        if self.collapse_warning:
            lines.append(f"WARNING: {self.collapse_warning}")
        return lines + ([self.coverage_note] if self.coverage_note else [])
