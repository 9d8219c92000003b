using System.Buffers;
using Apache.Arrow;
using EtlStream.Formats.Csv;

namespace EtlStream.Sinks.Csv;

/// <summary>
/// Writes batches as one CSV file with the same encoder the Stream Load sinks use for their bodies. Like the
/// Parquet sink it writes to a temp file beside the target and moves it into place only on completion, so the
/// target must be a regular file or a new path (see <see cref="FileTargetKind"/>).
/// </summary>
internal sealed class CsvFileSink : IBatchSink
{
    private readonly string _path;
    private readonly CsvWriteOptions _options;
    private readonly CsvArrowWriter _writer;
    private readonly ArrayBufferWriter<byte> _buffer = new(4 * 1024 * 1024);
    private FileStream? _file;
    private string? _tempPath;
    private bool _completed;

    public CsvFileSink(string path, CsvWriteOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        _path = path;
        _options = options;
        _writer = new CsvArrowWriter(options);
        if (FileTargetKind.WhyNotReplaceable(_path) is { } why)
        {
            throw new ArgumentException($"csv:{_path}: {why}."); // bad usage: nothing has run yet
        }
    }

    public int MaxConcurrency => 1;

    public int PreferredChunkRows => 1;

    public async ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken)
    {
        CheckTarget();
        var target = Path.GetFullPath(_path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        _tempPath = $"{target}.{Guid.NewGuid():N}.tmp";
        _file = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
        if (_options.Header)
        {
            _writer.WriteHeader(schema, _buffer);
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        foreach (var batch in chunk.Batches)
        {
            _writer.Write(batch, _buffer);
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        var file = _file ?? throw new InvalidOperationException("The CSV sink is not open.");
        await file.FlushAsync(cancellationToken).ConfigureAwait(false);
        await file.DisposeAsync().ConfigureAwait(false);
        _file = null;
        CheckTarget(); // again: the path may have been replaced while the run wrote
        File.Move(_tempPath!, Path.GetFullPath(_path), overwrite: true);
        _completed = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_file is not null)
        {
            await _file.DisposeAsync().ConfigureAwait(false);
        }

        if (!_completed && _tempPath is not null)
        {
            File.Delete(_tempPath);
        }
    }

    private void CheckTarget()
    {
        if (FileTargetKind.WhyNotReplaceable(_path) is { } why)
        {
            throw new IOException($"csv:{_path}: {why}.");
        }
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        await _file!.WriteAsync(_buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        _buffer.ResetWrittenCount();
    }
}
