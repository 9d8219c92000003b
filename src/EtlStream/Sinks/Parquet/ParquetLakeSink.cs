using System.Security.Cryptography;
using System.Text;
using Apache.Arrow;
using EtlStream.Sources;

namespace EtlStream.Sinks.Parquet;

/// <summary>
/// A table of a Parquet lake: a folder holding one Parquet file per source file, named from the source's identity
/// (<c>&lt;stem&gt;-&lt;hash of its name&gt;-&lt;hash of its version&gt;.parquet</c>). Writing a source again writes the
/// same name, so a rerun after a crash (committed files the ledger never heard of) replaces a file instead of
/// doubling its rows: writes are idempotent without any transaction. Each file is written under a pending name (not
/// <c>*.parquet</c>, so readers never see it) and all of the run's files are moved into place by
/// <see cref="CompleteAsync"/>, after the run's checks passed; a failed run leaves the lake as it was. A new version
/// of a source replaces the files of its older versions. A refresh (<see cref="ParquetLakeSinkOptions.Replace"/>)
/// writes a new folder and swaps it in when the run completes.
/// </summary>
internal sealed class ParquetLakeSink : IBatchSink
{
    private readonly ParquetLakeSinkOptions _options;
    private readonly Dictionary<SourceFile, ParquetSink> _open = new(ReferenceEqualityComparer.Instance);
    private readonly List<(string Pending, SourceFile File)> _finished = [];
    private readonly string _run = Guid.NewGuid().ToString("N")[..12];
    private readonly string _folder;
    private string? _writeFolder;
    private Schema? _schema;
    private bool _completed;

    public ParquetLakeSink(ParquetLakeSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Folder, nameof(options) + "." + nameof(options.Folder));
        _options = options;
        _folder = Path.GetFullPath(options.Folder).TrimEnd(Path.DirectorySeparatorChar);
    }

    /// <summary>One writer at a time; chunks of several source files interleave, each into its own file.</summary>
    public int MaxConcurrency => 1;

    public int PreferredChunkRows => 1;

    public ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (_schema is not null)
        {
            throw new InvalidOperationException("The Parquet lake sink is already open.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        _writeFolder = _options.Replace ? $"{_folder}.{Guid.NewGuid():N}.tmp" : _folder;
        Directory.CreateDirectory(_writeFolder);
        _schema = schema;
        return ValueTask.CompletedTask;
    }

    public async ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var schema = _schema ?? throw new InvalidOperationException("The Parquet lake sink is not open.");
        var source = chunk.Source
            ?? throw new InvalidOperationException($"{_folder}: a Parquet lake names each file after its source file; this chunk has none.");
        if (!_open.TryGetValue(source, out var writer))
        {
            writer = NewWriter(source);
            _open.Add(source, writer);
            await writer.OpenAsync(schema, cancellationToken).ConfigureAwait(false);
        }

        await writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Finishes the source's file under its pending name (an empty one when the source had no rows, so its load is on record).</summary>
    public async ValueTask FileCompleteAsync(SourceFile file, int chunks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        var schema = _schema ?? throw new InvalidOperationException("The Parquet lake sink is not open.");
        if (!_open.Remove(file, out var writer))
        {
            writer = NewWriter(file);
            await writer.OpenAsync(schema, cancellationToken).ConfigureAwait(false);
        }

        await using (writer.ConfigureAwait(false))
        {
            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        _finished.Add((PendingPathOf(file), file));
    }

    public ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (_schema is null)
        {
            throw new InvalidOperationException("The Parquet lake sink is not open.");
        }

        if (_open.Count > 0)
        {
            throw new InvalidOperationException(
                $"{_folder}: the run completed with files still open: {string.Join(", ", _open.Keys.Select(f => f.Name))}.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        foreach (var (pending, file) in _finished)
        {
            // Each move is atomic; a crash between two leaves whole files that a rerun rewrites under the same names.
            var current = FileNameOf(file);
            File.Move(pending, Path.Combine(_writeFolder!, current), overwrite: true);
            foreach (var older in Directory.EnumerateFiles(_writeFolder!, SourcePrefixOf(file) + "*.parquet"))
            {
                if (!string.Equals(Path.GetFileName(older), current, StringComparison.Ordinal))
                {
                    File.Delete(older);
                }
            }
        }

        _finished.Clear();
        if (_options.Replace)
        {
            // Two renames: between them the folder is absent for an instant (a reader then finds no files rather
            // than a mix of old and new ones).
            var retired = $"{_folder}.{Guid.NewGuid():N}.old";
            if (Directory.Exists(_folder))
            {
                Directory.Move(_folder, retired);
            }

            Directory.Move(_writeFolder!, _folder);
            if (Directory.Exists(retired))
            {
                Directory.Delete(retired, recursive: true);
            }
        }

        _completed = true;
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var writer in _open.Values)
        {
            await writer.DisposeAsync().ConfigureAwait(false); // deletes its temp file
        }

        _open.Clear();
        foreach (var (pending, _) in _finished)
        {
            File.Delete(pending);
        }

        _finished.Clear();
        if (_options.Replace && !_completed && _writeFolder is not null && Directory.Exists(_writeFolder))
        {
            Directory.Delete(_writeFolder, recursive: true);
        }
    }

    /// <summary>
    /// <c>invoices_2026-11-24-1f0c3a9e-7d41b2c0.parquet</c>: the source's file name without its format and
    /// compression suffixes, a hash of its whole name (sources in different folders never collide) and a hash of its
    /// version (a re-upload gets a new file).
    /// </summary>
    public static string FileNameOf(SourceFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return SourcePrefixOf(file) + Hash(file.Version) + ".parquet";
    }

    private ParquetSink NewWriter(SourceFile file) => new(new ParquetSinkOptions
    {
        Path = PendingPathOf(file),
        Compression = _options.Compression,
        RowGroupRows = _options.RowGroupRows,
        RowGroupBytes = _options.RowGroupBytes,
    });

    private string PendingPathOf(SourceFile file) => Path.Combine(_writeFolder!, $"{FileNameOf(file)}.{_run}.pending");

    private static string SourcePrefixOf(SourceFile file)
    {
        var stem = file.FileName;
        var dot = stem.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            stem = stem[..dot];
        }

        // Globbing characters would make the prefix match other sources' files.
        stem = string.Concat(stem.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
        return $"{stem}-{Hash(file.Name)}-";
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..8];
}
