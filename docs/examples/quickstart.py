# The README's library example, runnable as written (tests/models/test_quickstart.py runs it).
# Put any photo next to it as cat.jpg, or pass a PIL image instead of the path.
import netloupe
from netloupe import TopK

loaded = netloupe.load_model()                      # EfficientNet-Lite0, ImageNet
x = loaded.preprocess.batch(["cat.jpg"])            # paths or PIL images; whole image -> 224x224, [-1, 1]
res = netloupe.explain(loaded.model, x, ["gradcam", "gradcam++"], TopK(3), class_names=loaded.class_names)
print(res.maps["gradcam"].shape)                    # torch.Size([1, 3, 224, 224]), values in [0, 1]
print(res.labels())                                 # [['Egyptian cat', 'tiger cat', 'tabby']]
