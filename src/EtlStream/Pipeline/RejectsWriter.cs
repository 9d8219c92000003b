using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Sinks.Parquet;
using EtlStream.Transforms;

namespace EtlStream.Pipeline;

/// <summary>
/// The rejects output of a run: one Parquet file with every rejected row (source file, line, field, column,
/// rule, value, reason and the whole raw row), written only when there are rejects and kept even when the run
/// fails, since that is when it is read.
/// </summary>
internal sealed class RejectsWriter(string? path, string? table, string targetTable) : IAsyncDisposable
{
    private static readonly Schema RejectSchema = new Schema.Builder()
        .Field(new Field("target_table", StringType.Default, false))
        .Field(new Field("source_file", StringType.Default, false))
        .Field(new Field("line", Int64Type.Default, false))
        .Field(new Field("field", Int32Type.Default, false))
        .Field(new Field("column", StringType.Default, false))
        .Field(new Field("rule", StringType.Default, false))
        .Field(new Field("value", StringType.Default, false))
        .Field(new Field("reason", StringType.Default, false))
        .Field(new Field("raw_row", StringType.Default, false))
        .Build();

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<Sinks.IBatchSink> _sinks = [];

    // Parsed now, opened at the first reject: a bad target (a FIFO for a DuckDB file, an unknown option) fails the run
    // before it starts rather than at the first reject.
    private readonly Sinks.IBatchSink? _table = table is null ? null : Sinks.SinkTarget.Create(table, "etl_rejects");
    private bool _opened;

    /// <summary>The Parquet file, when there is one.</summary>
    public string? Path { get; } = CheckedPath(path);

    /// <summary>
    /// The rejects file is written like any Parquet target (a temp file renamed over it), so it is checked the same
    /// way, and at the start: it is opened only at the first reject, when failing would waste the run.
    /// </summary>
    private static string? CheckedPath(string? path) =>
        path is not null && Sinks.Csv.FileTargetKind.WhyNotReplaceable(path) is { } why ? throw new ArgumentException($"--rejects: {why}.") : path;

    public async Task WriteAsync(IReadOnlyList<RejectedRow> rows, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_opened)
            {
                _opened = true;
                if (Path is not null)
                {
                    _sinks.Add(new ParquetSink(new ParquetSinkOptions { Path = Path }));
                }

                if (_table is not null)
                {
                    _sinks.Add(_table);
                }

                foreach (var sink in _sinks)
                {
                    await sink.OpenAsync(RejectSchema, cancellationToken).ConfigureAwait(false);
                }
            }

            using var batch = Build(rows);
            foreach (var sink in _sinks)
            {
                await sink.WriteAsync(new Sinks.SinkChunk([batch]), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Moves the file into place and commits the table rows; a run without rejects writes nothing.</summary>
    public async Task CompleteAsync()
    {
        foreach (var sink in _sinks)
        {
            await sink.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sink in _sinks)
        {
            await sink.DisposeAsync().ConfigureAwait(false);
        }

        if (_table is not null && !_sinks.Contains(_table))
        {
            await _table.DisposeAsync().ConfigureAwait(false);
        }

        _gate.Dispose();
    }

    private RecordBatch Build(IReadOnlyList<RejectedRow> rows)
    {
        var target = new StringArray.Builder();
        var file = new StringArray.Builder();
        var line = new Int64Array.Builder();
        var field = new Int32Array.Builder();
        var column = new StringArray.Builder();
        var rule = new StringArray.Builder();
        var value = new StringArray.Builder();
        var reason = new StringArray.Builder();
        var raw = new StringArray.Builder();
        foreach (var r in rows)
        {
            target.Append(targetTable);
            file.Append(r.File);
            line.Append(r.Line);
            field.Append(r.Field);
            column.Append(r.Column);
            rule.Append(r.Rule);
            value.Append(r.Value);
            reason.Append(r.Reason);
            raw.Append(r.RawRow);
        }

        return new RecordBatch(RejectSchema, [target.Build(), file.Build(), line.Build(), field.Build(), column.Build(), rule.Build(), value.Build(), reason.Build(), raw.Build()], rows.Count);
    }
}

/// <summary>A file rejected more of its rows than the table's <c>max_reject_ratio</c> allows: the run fails, nothing is committed.</summary>
public sealed class RejectLimitException(string message) : Exception(message);
