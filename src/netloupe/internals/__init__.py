"""What a network learned: kernels, feature maps, feature spaces, embeddings and network dissection.

* :mod:`.filters` — conv kernels as tile grids (RGB first layer, per-channel or aggregated deeper layers).
* :mod:`.activations` — one layer's feature maps for one input.
* :mod:`.data` / :mod:`.features` — image collections and their (penultimate-layer) feature vectors.
* :mod:`.neighbors` — exact batched k-NN, feature vs pixel space, k-NN label agreement.
* :mod:`.embed` — PCA, t-SNE (openTSNE), UMAP (optional) as estimators.
* :mod:`.dissection` — network dissection (Bau et al. 2017).
"""

from __future__ import annotations

from .activations import layer_activations, strongest_channels
from .data import ImageSet, load_image_set
from .dissection import Detector, NetworkDissection
from .embed import EMBEDDING_METHODS, PCA, TSNE, UMAP, make_embedding
from .features import FeatureSet, extract_features, pixel_vectors, pool_features
from .filters import KernelTiles, first_conv_layer, kernel_tiles, layer_kernel_tiles
from .neighbors import NearestNeighbors, NeighborComparison, compare_spaces, knn_accuracy, knn_label_agreement

__all__ = [
    "EMBEDDING_METHODS",
    "PCA",
    "TSNE",
    "UMAP",
    "Detector",
    "FeatureSet",
    "ImageSet",
    "KernelTiles",
    "NearestNeighbors",
    "NeighborComparison",
    "NetworkDissection",
    "compare_spaces",
    "extract_features",
    "first_conv_layer",
    "kernel_tiles",
    "knn_accuracy",
    "knn_label_agreement",
    "layer_activations",
    "layer_kernel_tiles",
    "load_image_set",
    "make_embedding",
    "pixel_vectors",
    "pool_features",
    "strongest_channels",
]
