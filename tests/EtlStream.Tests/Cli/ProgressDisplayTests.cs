using System.Diagnostics;
using System.Text.RegularExpressions;
using EtlStream.Cli.Commands;
using EtlStream.Tests.Sources;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Cli;

/// <summary>
/// The live progress display: its layout at every width (no line reaches the last column, the bar stays while
/// there is room), its ETA (unknown until measured, never under a second while work remains), and the CLI drawn in
/// a real terminal (tmux) at 80 and 160 columns.
/// </summary>
public sealed partial class ProgressDisplayTests
{
    private const string LongTitle = "fact_invoice_secondary_with_a_very_long_table_name_2026-11-24";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Every_line_fits_every_width_from_10_to_240_columns(bool unicode)
    {
        for (var width = 10; width <= 240; width++)
        {
            var lines = ProgressDisplay.Lines(width, LongTitle, 512_345_678, 1_024_000_000, TimeSpan.FromSeconds(3725), TimeSpan.FromSeconds(80),
                12, 345, 123_456_789, 1_234_567, 123.4, "transform 3 load 2", unicode);

            Assert.Equal(2, lines.Length);
            Assert.All(lines, l => Assert.True(l.Length < width, $"{width} columns: '{l}' is {l.Length} long"));
            if (width >= 40)
            {
                Assert.Matches(unicode ? "━+─+  50%  ETA 1:02:05$" : "#+-+  50%  ETA 1:02:05$", lines[0]);
            }
        }
    }

    [Fact]
    public void At_80_columns_the_name_is_cut_and_the_bar_and_eta_stay()
    {
        var lines = ProgressDisplay.Lines(80, LongTitle, 250, 1000, TimeSpan.FromSeconds(75), TimeSpan.FromSeconds(20),
            0, 1, 65_536, 3_276.8, 1.5, "transform 0 load 1", unicode: true);

        Assert.Equal("fact_invoice_seconda… " + new string('━', 10) + new string('─', 32) + "  25%  ETA 1:15", lines[0]);
        Assert.Equal("  0/1 files, 65,536 rows, 3,277 rows/s, 1.5 MB/s, queues transform 0 load 1", lines[1]);
    }

    [Fact]
    public void Below_60_columns_only_files_and_rows_are_kept()
    {
        var lines = ProgressDisplay.Lines(50, "loading", 999, 1000, null, TimeSpan.FromSeconds(1), 3, 4, 1_000, 1_000, 1, "transform 0 load 0", unicode: true);

        Assert.Equal("loading " + new string('━', 24) + "─  99%  ETA --:--", lines[0]);
        Assert.Equal("  3/4 files, 1,000 rows", lines[1]);
    }

    [Fact]
    public void A_pipe_of_unknown_size_shows_bytes_read_and_elapsed_time_instead_of_a_bar()
    {
        var lines = ProgressDisplay.Lines(80, "loading", 12_345_678, 0, null, TimeSpan.FromSeconds(65), 0, 1, 10, 1, 1, "transform 0 load 0", unicode: true);

        Assert.Equal("loading  12.3 MB read  1:05", lines[0]);
    }

    [Fact]
    public void Eta_is_unknown_until_a_rate_is_measured_over_a_second_and_never_under_one_second_while_work_remains()
    {
        Assert.Null(ProgressDisplay.Remaining(100, 1000, 0.5, 100));
        Assert.Null(ProgressDisplay.Remaining(0, 1000, 3, 0));
        Assert.Equal(TimeSpan.FromSeconds(9), ProgressDisplay.Remaining(100, 1000, 2, 200));
        Assert.Equal(TimeSpan.FromSeconds(1), ProgressDisplay.Remaining(999_999, 1_000_000, 2, 500_000));

        // Everything read, the sink still writing: no rate to go by, and not 0:00.
        Assert.Equal(TimeSpan.FromSeconds(1), ProgressDisplay.Remaining(1000, 1000, 2, 0));
    }

    [Theory]
    [InlineData(80)]
    [InlineData(160)]
    public async Task Load_in_a_real_terminal_fits_the_width_advances_within_the_file_and_ends_with_the_summary(int width)
    {
        using var temp = new TempDirectory();
        var input = await LargeInvoicesAsync();
        var session = $"etlstream-progress-{Guid.NewGuid():N}";
        var cli = Path.Combine(AppContext.BaseDirectory, "EtlStream.Cli.dll");
        var command = $"dotnet '{cli}' load '{input}' --table '{ObjectStoreCli.StandardJobSpec}' --to parquet:out.parquet; echo exit=$?; sleep 600";
        Assert.Equal(0, (await RunAsync("tmux", "new-session", "-d", "-s", session, "-x", width.ToString(System.Globalization.CultureInfo.InvariantCulture), "-y", "30", "-c", temp.Path, command)).ExitCode);
        try
        {
            var percents = new List<int>();
            string screen;
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            while (true)
            {
                screen = (await RunAsync("tmux", "capture-pane", "-p", "-t", session)).Out;
                // A line that wrapped shows as its tail on the next line: the display is exactly its two lines, whole.
                var lines = screen.Split('\n');
                var at = Array.FindIndex(lines, l => l.StartsWith("loading ", StringComparison.Ordinal));
                if (at >= 0)
                {
                    Assert.True(lines[at].TrimEnd().Length < width, $"{width} columns: '{lines[at]}'");
                    Assert.Matches(Bar(), lines[at].TrimEnd());
                    Assert.Matches(@"^  \d/1 files, [\d,]+ rows", lines[at + 1]);
                    Assert.True(lines[at + 1].TrimEnd().Length < width, $"{width} columns: '{lines[at + 1]}'");
                    Assert.Equal("", lines[at + 2].Trim());
                }

                if (screen.Contains("exit=", StringComparison.Ordinal))
                {
                    break;
                }

                // Within the one file: "0/1 files" below a bar.
                if (at >= 0 && Bar().Match(lines[at].TrimEnd()) is { Success: true } bar && lines[at + 1].StartsWith("  0/1 files, ", StringComparison.Ordinal))
                {
                    percents.Add(int.Parse(bar.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
                }

                await Task.Delay(100, timeout.Token);
            }

            Assert.Contains("exit=0", screen, StringComparison.Ordinal);
            Assert.Contains("loaded 387,961 rows into table fact_invoice_secondary (400,000 read, 12,039 filt", screen, StringComparison.Ordinal);
            Assert.DoesNotContain("━", screen, StringComparison.Ordinal); // the display clears itself
            Assert.True(percents.Distinct().Count() >= 2, $"percentages seen within the file: {string.Join(", ", percents)}");
            Assert.Equal(percents.Order(), percents);
        }
        finally
        {
            await RunAsync("tmux", "kill-session", "-t", session);
        }
    }

    [GeneratedRegex(@"^loading ━*─*\s+(\d+)%  ETA (?:--:--|\d+:\d\d)$")]
    private static partial Regex Bar();

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _largeInvoices;

    /// <summary>400,000 rows (32 MB gzip): a load of a few seconds, long enough to be seen mid-file.</summary>
    private static async Task<string> LargeInvoicesAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_largeInvoices is null)
            {
                var folder = Path.Combine(Path.GetTempPath(), "etlstream-tests", "progress");
                Directory.CreateDirectory(folder);
                var file = Path.Combine(folder, "invoices-400000-seed1.csv.gz");
                if (!File.Exists(file))
                {
                    var partial = $"{file}.{Environment.ProcessId}.tmp";
                    var (code, stdout, stderr) = await CliProcess.RunAsync(folder, null, "generate", "invoices", "--rows", "400000", "--seed", "1", "--out", partial);
                    Assert.True(code == 0, stdout + stderr);
                    File.Move(partial, file, overwrite: true);
                }

                _largeInvoices = file;
            }

            return _largeInvoices;
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<(int ExitCode, string Out)> RunAsync(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (process.ExitCode, await stdout + await stderr);
    }
}
