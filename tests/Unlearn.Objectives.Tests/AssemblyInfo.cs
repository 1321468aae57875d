// TorchSharp's global generator (manual_seed) is process-wide: tests run one at a time so seeded draws never interleave.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
