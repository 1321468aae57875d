using Unlearn.Models;
using Unlearn.Tests;
using static TorchSharp.torch;

namespace Unlearn.Models.Tests;

public class FrozenModelTests
{
    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void AFrozenModelHoldsBf16LayersAndComputesExactlyWhatTheLoadedModelDoes(string family)
    {
        var root = TestPaths.NewTempDir("frozen");
        try
        {
            using (var source = CausalLM.Create(TestModels.ByName(family), 5)) source.Save(root, ScalarType.BFloat16);
            using var loaded = CausalLM.Load(root);
            using var frozen = CausalLM.LoadFrozen(root);
            var layerWeights = frozen.named_parameters().Where(p => p.name.Contains(".h.") || p.name.Contains(".layers.")).ToList();
            Assert.NotEmpty(layerWeights);
            Assert.All(layerWeights, p => Assert.Equal(ScalarType.BFloat16, p.parameter.dtype));
            Assert.All(frozen.parameters(), p => Assert.False(p.requires_grad));
            Assert.True(frozen.parameters().Sum(p => p.numel() * p.ElementSize) < loaded.parameters().Sum(p => p.numel() * p.ElementSize));

            using var generator = new Generator(3);
            using var ids = randint(frozen.Config.VocabSize, [2, 7], generator: generator);
            using var mask = ones_like(ids);
            using var expected = loaded.Forward(ids, mask, outputHiddenStates: true).Logits;
            // Passes inside a dispose scope (as a training step runs them) must not free the frozen model's weights.
            for (var pass = 0; pass < 2; pass++)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var output = frozen.Forward(ids, mask, outputHiddenStates: true);
                Assert.True(expected.equal(output.Logits).all().item<bool>(), $"pass {pass}: logits differ from the float32 model's");
            }
            Assert.All(layerWeights, p => Assert.Equal(ScalarType.BFloat16, frozen.named_parameters().Single(q => q.name == p.name).parameter.dtype));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void AFloat32CheckpointGivesAPlainFrozenModel()
    {
        var root = TestPaths.NewTempDir("frozen32");
        try
        {
            using (var source = CausalLM.Create(TestModels.Llama, 6)) source.Save(root);
            using var frozen = CausalLM.LoadFrozen(root);
            Assert.All(frozen.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
            Assert.All(frozen.parameters(), p => Assert.False(p.requires_grad));
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
