"""Representation drift: how far, and how coherently, training moved the model's representations.

For a fixed probe set (the context's problems, as chat prompts), the final-layer hidden states
(after the final norm), mean-pooled over each prompt's tokens, under the base and under each
trained model; the drift of a problem is ``d = h_trained - h_base``. The study found smaller,
more concentrated drift went with better cross-lingual transfer (RL vs SFT).

Statistics per run (n problems, drift vectors d_i, centroid d̄):

- ``mean_norm``: mean ||d_i||, how far representations moved;
- ``relative_norm``: mean ||d_i|| / ||h_base,i||, the same on a scale comparable across models;
- ``spread``: mean ||d_i - d̄||, the mean distance to the drift centroid (dispersion);
- ``total_variance``: trace of the covariance of the d_i = mean ||d_i - d̄||^2;
- ``coherence``: ||d̄|| / mean ||d_i||, 1 when every problem moved the same way, near 0 when the
  moves scatter.

The 2-D plot projects every run's drift vectors on one shared basis fitted to all runs' drift
vectors stacked, so runs given together are comparable on one scatter. By default that basis is
a PCA, as in the study (scikit-learn's ``PCA``: centred on the mean drift, axes of largest
variance *around* it; the axis labels give each axis's share of the variance). Probe option
``drift_basis: uncentred`` takes instead the top right singular vectors of the uncentred drift
vectors: the origin stays "no drift" (the base) and the first axis tends to point along the mean
drift, the labels giving shares of the total squared drift. Centred PCA shows how the drift
scatters; the uncentred basis shows where it goes.
"""

from __future__ import annotations

import numpy as np

from harness.core.hookspecs import ProbeContext, hookimpl


class DriftProbe:
    name = "drift"
    description = "Final-layer representation drift from the base model (norms, dispersion, shared-PCA scatter)."

    def check(self, options) -> None:
        if options.get("drift_basis", "pca") not in BASES:
            from harness.core.errors import unknown

            raise unknown("drift_basis", options["drift_basis"], BASES)

    def run(self, context: ProbeContext) -> dict:
        from harness.plugins.probes import lm, plots

        if not context.base_model:
            return {"skipped": "drift compares a trained model with its base: give a base model (--base)"}
        runs = {context.label: context.model, **context.compare}
        problems = [p for lang in context.languages for p in context.problems.get(lang, [])]
        langs = [p["lang"] for p in problems]

        def hidden(path: str) -> np.ndarray:
            tokenizer, model = lm.load(path, context.cache)
            prompts = [lm.chat_prompt(tokenizer, p["question"], p["lang"]) for p in problems]
            return lm.pooled_hidden(tokenizer, model, prompts, context.options.batch_size)

        base = hidden(context.base_model)
        drifts = {label: hidden(path) - base for label, path in runs.items()}
        kind = context.options.drift_basis
        self.check({"drift_basis": kind})
        if kind == "pca":
            basis, explained, center = pca_basis(list(drifts.values()))
            what = "of drift variance"
        else:
            (basis, explained), center = shared_basis(list(drifts.values())), 0.0
            what = "of squared drift"
        stats = {label: {**dispersion(d, base),
                         "per_language": {lang: float(np.linalg.norm(d[[i for i, l in enumerate(langs) if l == lang]], axis=1).mean())
                                          for lang in dict.fromkeys(langs)}}
                 for label, d in drifts.items()}
        path = plots.drift_scatter(
            context.plot_path("drift.png"), f"Drift from {_short(context.base_model)} ({len(problems)} problems)",
            {label: (d - center) @ basis.T for label, d in drifts.items()}, langs,
            (f"PC1 ({explained[0]:.0%} {what})", f"PC2 ({explained[1]:.0%} {what})"),
        )
        table = [{"run": label, **{k: row[k] for k in ("mean_norm", "relative_norm", "spread", "total_variance",
                                                         "coherence")}} for label, row in stats.items()]
        return {
            "definition": "d = h_trained - h_base per problem (final layer, mean-pooled over prompt tokens); "
                          "spread = mean ||d - centroid||; coherence = ||centroid|| / mean ||d||",
            "base_model": context.base_model, "models": runs, "problems": len(problems),
            "basis": "centred PCA (scikit-learn)" if kind == "pca" else "uncentred SVD",
            "explained_by_2d": [float(e) for e in explained], "per_run": stats, "table": table,
            "plots": [context.relative(path)],
        }


BASES = ("pca", "uncentred")


def pca_basis(drifts: list[np.ndarray], dims: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dims x hidden) principal axes of the stacked drift vectors, centred on their mean
    (scikit-learn PCA), each axis's share of the variance, and the mean (the projection's origin).
    Drift without variance gives the first coordinate axes and zero shares."""
    from sklearn.decomposition import PCA

    stacked = np.concatenate(drifts)
    samples, hidden_size = stacked.shape
    center = stacked.mean(axis=0)
    basis, shares = np.eye(dims, hidden_size), np.zeros(dims)
    found = min(dims, samples, hidden_size)
    if float(((stacked - center) ** 2).sum()) == 0.0 or found < 1:
        return basis, shares, center
    pca = PCA(n_components=found, svd_solver="full").fit(stacked)
    basis[:found] = pca.components_
    shares[:found] = pca.explained_variance_ratio_
    return basis, shares, pca.mean_


def shared_basis(drifts: list[np.ndarray], dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(dims x hidden) orthonormal basis of the stacked drift vectors (uncentered SVD) and the
    share of the total squared drift each direction carries. All-zero drift gives the first
    coordinate axes and zero shares."""
    stacked = np.concatenate(drifts)
    hidden_size = stacked.shape[1]
    total = float((stacked ** 2).sum())
    if total == 0.0:
        return np.eye(dims, hidden_size), np.zeros(dims)
    _, singular, vt = np.linalg.svd(stacked, full_matrices=False)
    basis = np.zeros((dims, hidden_size))
    shares = np.zeros(dims)
    found = min(dims, len(singular))
    basis[:found] = vt[:found]
    shares[:found] = singular[:found] ** 2 / total
    return basis, shares


def dispersion(drift: np.ndarray, base: np.ndarray) -> dict[str, float]:
    norms = np.linalg.norm(drift, axis=1)
    centroid = drift.mean(axis=0)
    distances = np.linalg.norm(drift - centroid, axis=1)
    mean_norm = float(norms.mean())
    return {
        "mean_norm": mean_norm,
        "relative_norm": float((norms / np.maximum(np.linalg.norm(base, axis=1), 1e-12)).mean()),
        "centroid_norm": float(np.linalg.norm(centroid)),
        "spread": float(distances.mean()),
        "total_variance": float((distances ** 2).mean()),
        "coherence": float(np.linalg.norm(centroid) / mean_norm) if mean_norm > 0 else 0.0,
    }


def _short(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


@hookimpl
def register_probes(register):
    register(DriftProbe())
