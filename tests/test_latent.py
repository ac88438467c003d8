import numpy as np
import pytest

from gan.latent import (
    MAP_CENTER,
    MAP_RING,
    code_digits,
    interpolate,
    lerp,
    principal_directions,
    sample_noise,
    slerp,
    tile,
    with_digit_code,
)


def test_noise_is_reproducible_per_seed():
    assert np.array_equal(sample_noise(4, 8, seed=3), sample_noise(4, 8, seed=3))
    assert not np.array_equal(sample_noise(4, 8, seed=3), sample_noise(4, 8, seed=4))
    assert sample_noise(4, 8).dtype == np.float32


@pytest.mark.parametrize("path", [lerp, slerp])
def test_paths_hit_both_ends(path):
    a, b = sample_noise(2, 16, seed=0)
    np.testing.assert_allclose(path(a, b, 0.0), a, atol=1e-5)
    np.testing.assert_allclose(path(a, b, 1.0), b, atol=1e-5)


def test_slerp_keeps_equal_norms_where_lerp_shrinks():
    a, b = sample_noise(2, 64, seed=1)
    b = b / np.linalg.norm(b) * np.linalg.norm(a)
    norms = [np.linalg.norm(slerp(a, b, t)) for t in np.linspace(0, 1, 11)]
    np.testing.assert_allclose(norms, np.linalg.norm(a), rtol=1e-5)
    assert np.linalg.norm(lerp(a, b, 0.5)) < 0.9 * np.linalg.norm(a)


def test_slerp_of_identical_vectors_stays_put():
    a = sample_noise(1, 8, seed=2)[0]
    for t in (0.0, 0.3, 1.0):
        np.testing.assert_allclose(slerp(a, a, t), a, atol=1e-6)


def test_slerp_of_opposite_vectors_is_defined_and_keeps_the_norm():
    a = sample_noise(1, 8, seed=2)[0]
    path = interpolate(a, -a, 9, "slerp")
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(a), rtol=1e-5)
    np.testing.assert_allclose(path[0], a, atol=1e-5)
    np.testing.assert_allclose(path[-1], -a, atol=1e-5)


def test_interpolate_returns_the_asked_number_of_frames():
    a, b = sample_noise(2, 5, seed=0)
    assert interpolate(a, b, 7, "lerp").shape == (7, 5)
    with pytest.raises(ValueError):
        interpolate(a, b, 1)


def test_tile_lays_images_out_in_a_grid():
    images = np.ones((6, 28, 28, 1), np.float32)
    grid = tile(images, columns=3)
    assert grid.shape == (2 * 28 + 1, 3 * 28 + 2)
    assert grid.min() == 0.5 and grid.max() == 1.0


def test_principal_directions_are_unit_latent_vectors():
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((200, 6))
    features = latents @ rng.standard_normal((6, 30))
    directions = principal_directions(latents, features, k=3)
    assert directions.shape == (3, 6)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, rtol=1e-5)


def test_asking_a_digit_code_swaps_the_largest_code_value_into_place():
    noise = sample_noise(50, 16, seed=3)
    digits = np.arange(50) % 10
    coded = with_digit_code(noise, digits, 10)
    np.testing.assert_array_equal(coded[:, :10].argmax(axis=1), digits)
    np.testing.assert_array_equal(np.sort(coded, axis=1), np.sort(noise, axis=1))  # a swap
    np.testing.assert_array_equal(coded[:, 10:], noise[:, 10:])
    own = noise[:, :10].argmax(axis=1)
    np.testing.assert_array_equal(with_digit_code(noise, own, 10), noise)  # already asked
    assert with_digit_code(noise, 4, 10)[:, :10].argmax(axis=1).tolist() == [4] * 50


def test_the_digit_map_gives_each_digit_a_tenth_of_the_noise_with_look_alikes_side_by_side():
    noise = sample_noise(200_000, 3, seed=0)
    shares = np.bincount(code_digits(noise, 2), minlength=10) / len(noise)
    np.testing.assert_allclose(shares, 0.1, atol=0.004)
    assert code_digits(np.zeros((1, 3), np.float32), 2).tolist() == [MAP_CENTER]
    angles = np.linspace(0.0, 2 * np.pi, 360, endpoint=False)  # once round, far out
    circle = np.stack([3 * np.cos(angles), 3 * np.sin(angles), np.zeros_like(angles)], axis=1)
    around = code_digits(circle, 2)
    visited = [int(d) for i, d in enumerate(around) if i == 0 or d != around[i - 1]]
    assert visited[-1] == visited[0] and visited[:-1] == list(MAP_RING)
    asked = with_digit_code(noise[:50], np.arange(50) % 10, 2)  # to each digit's place
    np.testing.assert_array_equal(code_digits(asked, 2), np.arange(50) % 10)
    np.testing.assert_array_equal(asked[:, 2:], noise[:50, 2:])
