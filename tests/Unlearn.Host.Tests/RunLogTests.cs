using Unlearn.Host.Running;

namespace Unlearn.Host.Tests;

/// <summary>The run log's progress lines.</summary>
public class RunLogTests
{
    [Theory]
    [InlineData(0, "0:00")]
    [InlineData(95, "1:35")]
    [InlineData(3599, "59:59")]
    [InlineData(3700, "1:01:40")]
    [InlineData(2 * 86400 + 5, "48:00:05")]
    public void EtaShowsHoursFromAnHourOn(int seconds, string expected) =>
        Assert.Equal(expected, RunLog.FormatEta(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void InfoLinesGoToTheLogFileWithATimestamp()
    {
        using var files = new TempFiles();
        var path = Path.Combine(files.Dir, "run.log");
        var console = new StringWriter();
        using (var log = new RunLog(console))
        {
            log.AttachFile(path);
            log.Info("calibrate: α* = 0.5");
        }
        Assert.Matches(@"^\[\d\d:\d\d:\d\d\] calibrate: α\* = 0\.5\r?\n$", File.ReadAllText(path));
        Assert.Contains("calibrate: α* = 0.5", console.ToString());
    }
}
