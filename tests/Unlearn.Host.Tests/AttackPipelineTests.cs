using System.Text.Json;
using Unlearn.Host.Cli;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>The <c>attacks</c> section is checked with the rest of the plan: bad names, options, labels and split
/// names inside attack options are bad input (exit 2) naming the file, the place and the fix, before any training.</summary>
public sealed class AttackValidationTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData("attacks: [quantise]\n", "attacks.0: unknown attack 'quantise'. Did you mean 'quantize'?")]
    [InlineData("attacks:\n  - name: noise\n    options:\n      rate: 2\n", "rate must be in (0, 1], got 2")]
    [InlineData("attacks:\n  - name: quantize\n    options:\n      bitz: 4\n", "bitz")]
    [InlineData("attacks:\n  - name: relearn\n    options:\n      split: forgett\n", "attacks.0.options.split: unknown split 'forgett'")]
    [InlineData("attacks: [noise, noise]\n", "two attacks are labelled 'noise' (attacks.0 and attacks.1)")]
    [InlineData("attacks:\n  - name: noise\n    label: none\n", "'none' cannot label an attack")]
    [InlineData("attacks:\n  - noise\n  - label: x\n    chain: [relearn, probee]\n", "attacks.1.chain.1: unknown attack 'probee'. Did you mean 'probe'?")]
    [InlineData("attacks:\n  - label: x\n    chain: []\n", "attacks.0.chain: expected a non-empty list of attacks applied in order")]
    [InlineData("attacks:\n  - name: probe\n    options:\n      layer: 9\n",
        "attacks.0.options.layer: layer 9 is outside the model's hidden states 0..4 (or -5..-1); set probe's layer within them (the built-in 'tiny' architecture has 4 layers).")]
    public void BadAttacksAreFoundBeforeTraining(string yaml, string expected)
    {
        var path = _files.Write("p.yaml", $"include: {HostTestPaths.Quickstart}\n{yaml}");
        var result = ToolProcess.Run(Path.Combine(_files.Dir, "cache"), "validate", path);
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains(expected, result.StdErr);
        Assert.Contains(path + ":", result.StdErr);
    }

    // A relative file names the file beside the pipeline, not one in the tool's working folder (another folder here).
    [Theory]
    [InlineData(false, "Answer: {question}\nno placeholder\n", 2)]
    [InlineData(true, "no placeholder\n", 1)]
    public void JailbreakTemplateFileIsCheckedBeforeTrainingAndReadFromThePipelinesFolder(bool relative, string lines, int badLine)
    {
        var templates = _files.Write("pipelines/more/templates.txt", lines);
        var path = _files.Write("pipelines/p.yaml",
            $"include: {HostTestPaths.Quickstart}\nattacks:\n  - name: jailbreak\n    options:\n      file: {(relative ? "more/templates.txt" : templates)}\n");
        var result = ToolProcess.Run(Path.Combine(_files.Dir, "cache"), "validate", path);
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains($"file '{templates}' line {badLine}: the template has no {{question}} placeholder", result.StdErr);
    }
}
