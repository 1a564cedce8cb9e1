"""Medical imaging workflows: MedMNIST data, training the project's models, 3-D explanations, bias audits.

Modules: ``medmnist`` (official splits), ``train`` (the reproducible recipe), ``shortcut`` (the synthetic
"hospital tag"), ``shortcut_experiment`` (clean vs biased model), ``audit`` (energy shares in regions,
verdicts), ``datasets`` (audit inputs), ``volume`` (Conv3d explanations in the volume's geometry).
``netloupe explain`` on DICOM / NIfTI is the explain job (:mod:`netloupe.pipeline`); readers and writers
live in :mod:`netloupe.io`.
"""

__all__: list[str] = []
