using Unlearn.Models;
using Unlearn.Tests;
using static TorchSharp.torch;

namespace Unlearn.Models.Tests;

public class CheckpointMixerTests
{
    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void StreamedMixingEqualsResidentMixingBitForBitAndRestoresTheUnlearnedWeights(string family)
    {
        var root = TestPaths.NewTempDir("mixer");
        try
        {
            var (originalDir, unlearnedDir) = (Path.Combine(root, "original"), Path.Combine(root, "unlearned"));
            using var original = CausalLM.Create(TestModels.ByName(family), 20);
            using var unlearned = CausalLM.Create(TestModels.ByName(family), 21);
            original.Save(originalDir);
            unlearned.Save(unlearnedDir);
            using var resident = CausalLM.Create(TestModels.ByName(family), 22);
            using var mixer = new CheckpointMixer(originalDir, unlearnedDir);
            Assert.True(ModelWeights.AreIdentical(mixer.Model, unlearned));
            foreach (var alpha in new[] { 0.0, 0.3, 0.5, 0.77, 1.0, -0.25, 1.5 })
            {
                ModelWeights.Interpolate(resident, original, unlearned, alpha);
                Assert.Same(mixer.Model, mixer.Mix(alpha));
                Assert.True(ModelWeights.AreIdentical(resident, mixer.Model), $"alpha {alpha}");
            }
            mixer.Mix(0.4);
            Assert.False(ModelWeights.AreIdentical(mixer.Model, unlearned));
            mixer.Mix(0);
            Assert.True(ModelWeights.AreIdentical(mixer.Model, original));
            mixer.Mix(1);
            Assert.True(ModelWeights.AreIdentical(mixer.Model, unlearned));
            Assert.All(mixer.Model.parameters(), p => Assert.Null(p.grad));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void StreamedMixingRefusesACheckpointOfAnotherShapeNamingTheFolderAndWeight()
    {
        var root = TestPaths.NewTempDir("mixer-shape");
        try
        {
            using var model = CausalLM.Create(TestModels.Llama, 1);
            using var other = CausalLM.Create(TestModels.Llama with { IntermediateSize = TestModels.Llama.IntermediateSize * 2 }, 2);
            model.Save(Path.Combine(root, "a"));
            other.Save(Path.Combine(root, "b"));
            var error = Assert.Throws<InvalidDataException>(() => ModelWeights.Interpolate(model,
                SafetensorsCheckpoint.Open(Path.Combine(root, "a")), SafetensorsCheckpoint.Open(Path.Combine(root, "b")), 0.5));
            Assert.Contains(Path.Combine(root, "b"), error.Message);
            Assert.Contains("mlp.", error.Message);
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
