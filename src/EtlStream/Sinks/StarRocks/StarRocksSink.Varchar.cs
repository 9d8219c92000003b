using System.Diagnostics;
using Apache.Arrow;
using EtlStream.Sources;
using EtlStream.Tables;
using EtlStream.Transforms;
using MySqlConnector;

namespace EtlStream.Sinks.StarRocks;

/// <summary>The live VARCHAR lengths: values longer than the live column widen it (<c>overflow: widen</c>) or are rejected with their raw row.</summary>
public sealed partial class StarRocksSink
{
    /// <summary>
    /// Values longer (in UTF-8 bytes) than the live column allows: the column is widened first, or their rows are
    /// rejected, per <see cref="StarRocksSinkOptions.Overflow"/>. Returns the rejected rows per batch, or null.
    /// </summary>
    private async Task<HashSet<int>?[]?> ApplyVarcharPolicyAsync(SinkChunk chunk, SourceFile file, CancellationToken cancellationToken)
    {
        HashSet<int>?[]? excluded = null;
        List<RejectedRow>? rejected = null;
        for (var c = 0; c < _live.Length; c++)
        {
            var live = Volatile.Read(ref _live[c]);
            if (live is not { MaxLength: { } limit } || !IsVarchar(live) || ArrowTypes.KindOf(_schema!.FieldsList[c].DataType) != ColumnKind.String)
            {
                continue;
            }

            var longest = 0;
            foreach (var batch in chunk.Batches)
            {
                var offsets = ((StringArray)batch.Column(c)).ValueOffsets;
                for (var r = 0; r < batch.Length; r++)
                {
                    longest = Math.Max(longest, offsets[r + 1] - offsets[r]);
                }
            }

            if (longest <= limit)
            {
                continue;
            }

            var policy = OverflowOf(_schema.FieldsList[c]);
            if (policy == VarcharOverflowPolicy.Widen && longest <= StarRocksSql.MaxVarcharBytes)
            {
                await WidenAsync(c, longest, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var max = policy == VarcharOverflowPolicy.Widen ? StarRocksSql.MaxVarcharBytes : (int)limit;
            for (var b = 0; b < chunk.Batches.Count; b++)
            {
                var batch = chunk.Batches[b];
                var strings = (StringArray)batch.Column(c);
                for (var r = 0; r < batch.Length; r++)
                {
                    var length = strings.ValueOffsets[r + 1] - strings.ValueOffsets[r];
                    if (length <= max)
                    {
                        continue;
                    }

                    excluded ??= new HashSet<int>?[chunk.Batches.Count];
                    if ((excluded[b] ??= []).Add(r))
                    {
                        (rejected ??= []).Add(new RejectedRow(
                            file.Name, 0, c + 1, live.Name, Rules.MaxLength, strings.GetString(r),
                            $"{live.Name}: {length} UTF-8 bytes, the live column {_options.Database}.{_options.Table}.{live.Name} is VARCHAR({max})",
                            RawRow(batch, r)));
                    }
                }
            }
        }

        if (rejected is not null)
        {
            Interlocked.Add(ref _rowsRejected, rejected.Count);
            if (_rejects is { } callback)
            {
                await callback(rejected, cancellationToken).ConfigureAwait(false);
            }
        }

        return excluded;
    }

    private async Task WidenAsync(int column, int length, CancellationToken cancellationToken)
    {
        await _schemaGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var live = _live[column]!;
            if (live.MaxLength >= length)
            {
                return; // another chunk widened it already
            }

            try
            {
                await AlterAndWaitAsync(column, live, length, cancellationToken).ConfigureAwait(false);
            }
            catch (MySqlException e)
            {
                throw StarRocksFeSql.Failure(_options, e, $"widening {_options.Table}.{live.Name} to VARCHAR({length})");
            }
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    private async Task AlterAndWaitAsync(int column, LiveColumn live, int length, CancellationToken cancellationToken)
    {
        await using var connection = await StarRocksFeSql.OpenAsync(_options, cancellationToken).ConfigureAwait(false);
        var sql = StarRocksSql.WidenVarchar(_options.Database, _options.Table, live.Name, length, live.Nullable);
        await using (var cmd = new MySqlCommand(sql, connection))
        {
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // StarRocks runs schema changes as jobs: the new length counts once information_schema shows it.
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var columns = await StarRocksSql.ReadColumnsAsync(connection, _options.Database, _options.Table, cancellationToken).ConfigureAwait(false);
            var now = columns.FirstOrDefault(c => c.Name.Equals(live.Name, StringComparison.OrdinalIgnoreCase));
            if (now?.MaxLength >= length)
            {
                Volatile.Write(ref _live[column], now);
                break;
            }

            if (waited.Elapsed > _options.PollLimit)
            {
                throw new StreamLoadException($"{_options.Table}.{live.Name}: widening to VARCHAR({length}) did not finish in {_options.PollLimit}", string.Empty);
            }

            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }

        Interlocked.Increment(ref _widened);
        LogWidened(_logger, _options.Table, live.Name, live.MaxLength ?? 0, length);
    }

    private static bool IsVarchar(LiveColumn c) => c.DataType is "VARCHAR" or "CHAR";

    /// <summary>
    /// The column's policy for values longer than the LIVE column: the spec's <c>overflow: widen</c> widens; <c>reject</c>
    /// and <c>truncate</c> (the transform truncated to the spec's length already; cutting again to a shorter live
    /// length would store a value the spec never allowed) reject. Fields without a spec policy follow the sink option.
    /// </summary>
    private VarcharOverflowPolicy OverflowOf(Field field) =>
        field.Metadata?.TryGetValue(ArrowTypes.OverflowKey, out var policy) == true
            ? policy == "widen" ? VarcharOverflowPolicy.Widen : VarcharOverflowPolicy.Reject
            : _options.Overflow;
}
