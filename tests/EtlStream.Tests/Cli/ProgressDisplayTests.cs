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
        var (screen, percents) = await DrawInTmuxAsync(temp.Path, width, $"load '{input}' --table '{ObjectStoreCli.StandardJobSpec}' --to parquet:out.parquet", "loading", "1");

        Assert.Contains("loaded 387,961 rows into table fact_invoice_secondary (400,000 read, 12,039 filt", screen, StringComparison.Ordinal);
        Assert.True(percents.Distinct().Count() >= 2, $"percentages seen within the file: {string.Join(", ", percents)}");
        Assert.Equal(percents.Order(), percents);
    }

    [Theory]
    [InlineData(80)]
    [InlineData(160)]
    public async Task Run_in_a_real_terminal_fits_the_width_and_advances_within_the_file(int width)
    {
        using var temp = new TempDirectory();
        await TenantOverLargeInvoicesAsync(temp, Day1);
        var (screen, percents) = await DrawInTmuxAsync(temp.Path, width, "run --tenant acme --job morning --date 2026-11-20", "fact_invoice_second", "1");

        Assert.Matches(@"fact_invoice_secondary\s+append\s+1\s+400,000\s+387,961\s+12,039", screen);
        Assert.Contains("acme/morning 2026-11-20: loaded 387,961 rows into 1 table load", screen, StringComparison.Ordinal);
        Assert.True(percents.Distinct().Count() >= 2, $"percentages seen within the file: {string.Join(", ", percents)}");
        Assert.Equal(percents.Order(), percents);
    }

    [Theory]
    [InlineData(80)]
    [InlineData(160)]
    public async Task Backfill_in_a_real_terminal_fits_the_width_and_advances_within_each_day(int width)
    {
        using var temp = new TempDirectory();
        await TenantOverLargeInvoicesAsync(temp, Day1, Day2);
        var (screen, percents) = await DrawInTmuxAsync(temp.Path, width,
            "backfill --tenant acme --table fact_invoice_secondary --from 2026-11-20 --to 2026-11-21", "fact_invoice_second", "1");

        Assert.Contains("acme/fact_invoice_secondary backfill 2026-11-20..2026-11-21 shard 0/1: loaded 775,922 rows from 2 files", screen, StringComparison.Ordinal);
        Assert.True(percents.Distinct().Count() >= 2, $"percentages seen within a day's file: {string.Join(", ", percents)}");
    }

    private static readonly DateOnly Day1 = new(2026, 11, 20);
    private static readonly DateOnly Day2 = new(2026, 11, 21);

    /// <summary>A tenant "acme" loading the 400,000-row invoices (a copy per day) into Parquet with the standard job's spec.</summary>
    private static async Task TenantOverLargeInvoicesAsync(TempDirectory temp, params DateOnly[] days)
    {
        var input = await LargeInvoicesAsync();
        var configs = temp.File("configs");
        Directory.CreateDirectory(Path.Combine(configs, "schemas"));
        File.Copy(ObjectStoreCli.StandardJobSpec, Path.Combine(configs, "schemas", "fact_invoice_secondary.yaml"));
        Directory.CreateDirectory(Path.Combine(configs, "tenants", "acme"));
        File.WriteAllText(Path.Combine(configs, "tenants", "acme", "tenant.yaml"), """
            tenant: acme
            database: datawiz_acme
            source: { kind: local, path: incoming }
            sink: { kind: parquet, path: lake }
            tables:
              fact_invoice_secondary: { schema: fact_invoice_secondary, files: "invoices_{date}.csv.gz" }
            jobs:
              morning:
                steps:
                  - { name: facts, tables: [fact_invoice_secondary], mode: append }
            """);
        Directory.CreateDirectory(temp.File("incoming"));
        foreach (var day in days)
        {
            File.Copy(input, temp.File($"incoming/invoices_{day:yyyy-MM-dd}.csv.gz")); // a link would not be followed out of the folder
        }
    }

    /// <summary>
    /// Runs the CLI with <paramref name="arguments"/> in a tmux session <paramref name="width"/> columns wide until it
    /// exits, checking every screen: the display is exactly its two lines, each shorter than the width, the first a
    /// bar after a name starting <paramref name="title"/> (cut to fit at 80 columns). Returns the last screen and the percentages seen while the first file
    /// was being read (<c>0/&lt;files&gt; files</c>).
    /// </summary>
    private static async Task<(string Screen, List<int> Percents)> DrawInTmuxAsync(string folder, int width, string arguments, string title, string files)
    {
        var session = $"etlstream-progress-{Guid.NewGuid():N}";
        var cli = Path.Combine(AppContext.BaseDirectory, "EtlStream.Cli.dll");
        var command = $"ETLSTREAM_HOME= dotnet '{cli}' {arguments}; echo exit=$?; sleep 600";
        Assert.Equal(0, (await RunAsync("tmux", "new-session", "-d", "-s", session, "-x", width.ToString(System.Globalization.CultureInfo.InvariantCulture), "-y", "30", "-c", folder, command)).ExitCode);
        var bar = new Regex($@"^{Regex.Escape(title)}.*? ━*─*\s+(\d+)%  ETA (?:--:--|\d+:\d\d)$");
        try
        {
            var percents = new List<int>();
            string screen;
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            while (true)
            {
                // -J joins a wrapped line back into one, longer than the width: the display is exactly its two lines, whole.
                screen = (await RunAsync("tmux", "capture-pane", "-p", "-J", "-t", session)).Out;
                var lines = screen.Split('\n');
                var at = Array.FindIndex(lines, l => l.StartsWith(title, StringComparison.Ordinal) && l.Contains('%', StringComparison.Ordinal));
                if (at >= 0 && lines[at + 1].Trim().Length == 0)
                {
                    at = -1; // captured between drawing the first line and the second: look again
                }

                if (at >= 0)
                {
                    Assert.True(lines[at].TrimEnd().Length < width, $"{width} columns: '{lines[at]}'");
                    Assert.Matches(bar, lines[at].TrimEnd());
                    Assert.Matches($@"^  \d/{files} files, [\d,]+ rows", lines[at + 1]);
                    Assert.True(lines[at + 1].TrimEnd().Length < width, $"{width} columns: '{lines[at + 1]}'");
                    Assert.Equal("", lines[at + 2].Trim());
                }

                if (screen.Contains("exit=", StringComparison.Ordinal))
                {
                    break;
                }

                if (at >= 0 && bar.Match(lines[at].TrimEnd()) is { Success: true } drawn && lines[at + 1].StartsWith($"  0/{files} files, ", StringComparison.Ordinal))
                {
                    percents.Add(int.Parse(drawn.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
                }

                await Task.Delay(100, timeout.Token);
            }

            Assert.Contains("exit=0", screen, StringComparison.Ordinal);
            Assert.DoesNotContain("━", screen, StringComparison.Ordinal); // the display clears itself
            return (screen, percents);
        }
        finally
        {
            await RunAsync("tmux", "kill-session", "-t", session);
        }
    }

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
