using System.Diagnostics;
using System.Globalization;
using System.Text;
using EtlStream.Pipeline;
using EtlStream.Sources;
using Spectre.Console;

namespace EtlStream.Cli.Commands;

/// <summary>
/// The live display of a load: a bar, percentage and ETA from source bytes read (so it moves within a file), then
/// files done, rows, rows and MB per second, queue depths. Drawn on stderr, and only for a person at a terminal:
/// off when stderr is redirected, with NO_COLOR, with --no-progress, and with --output json. Stdout keeps the
/// summary line (or the JSON) alone. Every line fits the terminal's width, whatever it is: a line that wrapped
/// would be redrawn below itself at every refresh.
/// </summary>
internal sealed class ProgressDisplay
{
    /// <summary>Below this many columns the second line keeps only files and rows.</summary>
    internal const int NarrowWidth = 60;

    private ProgressDisplay(bool enabled) => Enabled = enabled;

    public bool Enabled { get; }

    public static ProgressDisplay Create(bool noProgress, bool jsonOutput) =>
        new(!noProgress && !jsonOutput && !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null);

    public Task<T> RunAsync<T>(string title, LoadPipeline pipeline, IReadOnlyList<SourceFile> files, Func<Task<T>> run) =>
        Enabled ? DrawAsync(title, pipeline, files, run) : run();

    /// <summary>
    /// The display's lines for a terminal <paramref name="width"/> columns wide, each at most width - 1 long (a
    /// line filling the last column leaves some terminals' cursor on the next line). <paramref name="total"/> 0:
    /// sizes unknown (a pipe or FIFO), so bytes read stand where the bar would.
    /// </summary>
    internal static string[] Lines(int width, string title, long done, long total, TimeSpan? remaining, TimeSpan elapsed,
        long filesDone, int files, long rows, double rowsPerSecond, double megabytesPerSecond, string queues, bool unicode)
    {
        var usable = Math.Max(1, width - 1);
        string right;
        if (total > 0)
        {
            // 100 % is kept for the end: the last bytes read still have to be written.
            var percent = (int)Math.Min(99, done * 100 / total);
            right = string.Create(CultureInfo.InvariantCulture, $" {percent,3}%  ETA {Eta(remaining)}");
        }
        else
        {
            right = string.Create(CultureInfo.InvariantCulture, $"  {Size(done)} read  {Clock(elapsed)}");
        }

        var line = new StringBuilder(usable);
        var room = usable - right.Length;
        if (room < 1)
        {
            line.Append(Fit(title + right, usable, unicode));
        }
        else
        {
            // The name takes at most a third of the room, so the bar keeps the rest; too little room for a bar: no bar.
            var name = Fit(title, total > 0 ? Math.Max(6, room / 3) : room, unicode);
            var bar = room - name.Length - 1;
            line.Append(Fit(name, room, unicode));
            if (total > 0 && bar >= 5)
            {
                var filled = (int)(bar * Math.Min(done, total) / total);
                line.Append(' ').Append(unicode ? '━' : '#', filled).Append(unicode ? '─' : '-', bar - filled);
            }

            line.Append(right);
        }

        var stats = new List<string>(5)
        {
            string.Create(CultureInfo.InvariantCulture, $"{filesDone}/{files} files"),
            string.Create(CultureInfo.InvariantCulture, $"{rows:N0} rows"),
        };
        if (width >= NarrowWidth)
        {
            stats.Add(string.Create(CultureInfo.InvariantCulture, $"{rowsPerSecond:N0} rows/s"));
            stats.Add(string.Create(CultureInfo.InvariantCulture, $"{megabytesPerSecond:N1} MB/s"));
            stats.Add("queues " + queues);
        }

        // Whole columns are dropped from the right rather than cut in the middle.
        var second = new StringBuilder(usable).Append("  ").Append(stats[0]);
        for (var i = 1; i < stats.Count && second.Length + 2 + stats[i].Length <= usable; i++)
        {
            second.Append(", ").Append(stats[i]);
        }

        return [line.ToString(), Fit(second.ToString(), usable, unicode)];
    }

    /// <summary>
    /// Time left from the rate over the last few seconds: null (shown <c>--:--</c>) until that rate is measured over
    /// a second or more, and never under a second while work remains.
    /// </summary>
    internal static TimeSpan? Remaining(long done, long total, double windowSeconds, long windowBytes)
    {
        if (total <= 0 || windowSeconds < 1 || windowBytes <= 0)
        {
            return done >= total && total > 0 ? TimeSpan.FromSeconds(1) : null;
        }

        var seconds = Math.Max(0, total - done) / (windowBytes / windowSeconds);
        return seconds > TimeSpan.MaxValue.TotalSeconds / 2 ? null : TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(seconds)));
    }

    private static string Eta(TimeSpan? remaining) => remaining is { } r ? Clock(r) : "--:--";

    private static string Clock(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
        : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}:{t.Seconds:00}");

    private static string Size(long bytes) => bytes >= 1_000_000
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:N1} MB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e3:N1} kB");

    private static string Fit(string text, int width, bool unicode)
    {
        if (text.Length <= width)
        {
            return text;
        }

        var mark = unicode ? "…" : "..";
        return width <= mark.Length ? text[..width] : text[..(width - mark.Length)] + mark;
    }

    /// <summary>Kept apart so a run without a display never loads (or, without tiered compilation, JITs) Spectre.Console.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static async Task<T> DrawAsync<T>(string title, LoadPipeline pipeline, IReadOnlyList<SourceFile> files, Func<Task<T>> run)
    {
        // A file listed as 0 bytes (a pipe, a FIFO) has no size to measure against.
        var total = 0L;
        foreach (var f in files)
        {
            if (f.Length <= 0)
            {
                total = 0;
                break;
            }

            total += f.Length;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        var unicode = console.Profile.Capabilities.Unicode;
        var work = run();
        var clock = Stopwatch.StartNew();
        var samples = new Queue<(double Seconds, long Done)>();
        await console.Live(new Text(string.Empty)).AutoClear(true).Overflow(VerticalOverflow.Ellipsis).Cropping(VerticalOverflowCropping.Bottom)
            .StartAsync(async ctx =>
            {
                while (!work.IsCompleted)
                {
                    var (filesDone, rowsRead, _, bytesRead) = pipeline.Progress;
                    var done = Math.Max(pipeline.SourceBytesRead, pipeline.CompressedBytesOfFilesDone);
                    var now = clock.Elapsed.TotalSeconds;
                    samples.Enqueue((now, done));
                    while (samples.Count > 2 && now - samples.Peek().Seconds > 5)
                    {
                        samples.Dequeue();
                    }

                    var (since, then) = samples.Peek();
                    var seconds = Math.Max(0.001, now);
                    var depths = string.Join(" ", pipeline.QueueDepths.Select(d => $"{d.Key} {d.Value}"));
                    var lines = Lines(console.Profile.Width, title, total > 0 ? Math.Min(done, total) : done, total,
                        Remaining(done, total, now - since, done - then), clock.Elapsed, filesDone, files.Count, rowsRead,
                        rowsRead / seconds, bytesRead / 1e6 / seconds, depths, unicode);
                    ctx.UpdateTarget(new Text(string.Join('\n', lines)));
                    ctx.Refresh();
                    await Task.WhenAny(work, Task.Delay(250));
                }
            });
        return await work;
    }
}
