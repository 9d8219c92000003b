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
internal sealed class RejectsWriter(string path) : IAsyncDisposable
{
    private static readonly Schema RejectSchema = new Schema.Builder()
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
    private ParquetSink? _sink;

    public string Path { get; } = path;

    public async Task WriteAsync(IReadOnlyList<RejectedRow> rows, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_sink is null)
            {
                _sink = new ParquetSink(new ParquetSinkOptions { Path = Path });
                await _sink.OpenAsync(RejectSchema, cancellationToken).ConfigureAwait(false);
            }

            using var batch = Build(rows);
            await _sink.WriteAsync([batch], cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Moves the file into place; a run without rejects leaves no file.</summary>
    public async Task CompleteAsync()
    {
        if (_sink is not null)
        {
            await _sink.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_sink is not null)
        {
            await _sink.DisposeAsync().ConfigureAwait(false);
        }

        _gate.Dispose();
    }

    private static RecordBatch Build(IReadOnlyList<RejectedRow> rows)
    {
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
            file.Append(r.File);
            line.Append(r.Line);
            field.Append(r.Field);
            column.Append(r.Column);
            rule.Append(r.Rule);
            value.Append(r.Value);
            reason.Append(r.Reason);
            raw.Append(r.RawRow);
        }

        return new RecordBatch(RejectSchema, [file.Build(), line.Build(), field.Build(), column.Build(), rule.Build(), value.Build(), reason.Build(), raw.Build()], rows.Count);
    }
}

/// <summary>A file rejected more of its rows than the table's <c>max_reject_ratio</c> allows: the run fails, nothing is committed.</summary>
public sealed class RejectLimitException(string message) : Exception(message);
