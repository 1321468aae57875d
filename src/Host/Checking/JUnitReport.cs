using System.Xml.Linq;

namespace Unlearn.Host.Checking;

/// <summary>JUnit XML of a check, the format CI systems display as test results: a test suite per run, a test case per
/// expectation, a <c>failure</c> element with the message when it failed. No times or host names, so the same results
/// give the same file.</summary>
public static class JUnitReport
{
    /// <summary>The document.</summary>
    public static XDocument Build(string expectFile, IReadOnlyList<CheckCase> cases)
    {
        ArgumentNullException.ThrowIfNull(cases);
        var suites = cases.GroupBy(c => c.Run).Select(g => new XElement("testsuite",
            new XAttribute("name", g.Key),
            new XAttribute("tests", g.Count()),
            new XAttribute("failures", g.Count(c => !c.Passed)),
            new XAttribute("errors", 0),
            new XAttribute("skipped", 0),
            g.Select(c => new XElement("testcase",
                new XAttribute("classname", g.Key),
                new XAttribute("name", c.Name),
                c.Passed ? null : new XElement("failure",
                    new XAttribute("message", c.Message),
                    new XAttribute("type", "expectation"),
                    $"expected: {c.Expected}\ngot: {(c.Got is { } got ? ExpectationCheck.Num(got) : "missing")}\n"
                        + (c.Difference is { } d ? $"difference: {ExpectationCheck.Signed(d)}\n" : "") + c.Message)))));
        return new XDocument(new XDeclaration("1.0", "utf-8", null), new XElement("testsuites",
            new XAttribute("name", $"dotnet unlearn check --expect {Path.GetFileName(expectFile)}"),
            new XAttribute("tests", cases.Count),
            new XAttribute("failures", cases.Count(c => !c.Passed)),
            suites));
    }

    /// <summary>Writes the document (folders created, an existing file replaced: a CI job writes it on every run).</summary>
    public static void Write(string path, string expectFile, IReadOnlyList<CheckCase> cases)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        using (var writer = System.Xml.XmlWriter.Create(temp, new System.Xml.XmlWriterSettings { Indent = true, Encoding = new System.Text.UTF8Encoding(false), NewLineChars = "\n" }))
            Build(expectFile, cases).Save(writer);
        File.Move(temp, full, overwrite: true);
    }
}
