using System.Globalization;
using EtlStream.Pipeline;
using EtlStream.Sources;
using Spectre.Console;

namespace EtlStream.Cli.Commands;

/// <summary>
/// The live display of a load: files done, rows and MB per second, ETA from compressed bytes read, queue depths.
/// Drawn on stderr, and only for a person at a terminal: off when stderr is redirected, with NO_COLOR, with
/// --no-progress, and with --output json. Stdout keeps the summary line (or the JSON) alone.
/// </summary>
internal sealed class ProgressDisplay
{
    private long _compressedBytesRead;

    private ProgressDisplay(bool enabled) => Enabled = enabled;

    public bool Enabled { get; }

    public static ProgressDisplay Create(bool noProgress, bool jsonOutput) =>
        new(!noProgress && !jsonOutput && !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null);

    /// <summary>The same files, with their raw reads counted: the ETA's measure of work done.</summary>
    public IReadOnlyList<SourceFile> Count(IReadOnlyList<SourceFile> files) =>
        Enabled ? [.. files.Select(f => f with { Open = async ct => new CountingStream(await f.Open(ct), this) })] : files;

    public Task<T> RunAsync<T>(string title, LoadPipeline pipeline, IReadOnlyList<SourceFile> files, Func<Task<T>> run) =>
        Enabled ? DrawAsync(title, pipeline, files, run) : run();

    /// <summary>Kept apart so a run without a display never loads (or, without tiered compilation, JITs) Spectre.Console.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private async Task<T> DrawAsync<T>(string title, LoadPipeline pipeline, IReadOnlyList<SourceFile> files, Func<Task<T>> run)
    {
        var total = Math.Max(1, files.Sum(f => Math.Max(0, f.Length)));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        var work = run();
        var started = DateTime.UtcNow;
        await new Spectre.Console.Progress(console, TimeProvider.System) { AutoClear = true }
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(title, maxValue: total);
                while (!work.IsCompleted)
                {
                    var (filesDone, rowsRead, _, bytesRead) = pipeline.Progress;
                    var seconds = Math.Max(0.001, (DateTime.UtcNow - started).TotalSeconds);
                    var depths = string.Join(" ", pipeline.QueueDepths.Select(d => $"{d.Key} {d.Value}"));
                    task.Value = Math.Min(total, Math.Max(Interlocked.Read(ref _compressedBytesRead), pipeline.CompressedBytesOfFilesDone));
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"{title}: {filesDone}/{files.Count} files, {rowsRead:N0} rows, {rowsRead / seconds:N0} rows/s, {bytesRead / 1e6 / seconds:N0} MB/s, queues {depths}");
                    await Task.WhenAny(work, Task.Delay(250));
                }

                task.Value = total;
            });
        return await work;
    }

    /// <summary>Counts the raw (compressed) bytes a source stream hands out.</summary>
    private sealed class CountingStream(Stream inner, ProgressDisplay owner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => inner.Position = value; }

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private int Counted(int n)
        {
            Interlocked.Add(ref owner._compressedBytesRead, n);
            return n;
        }
    }
}
