using EtlStream.Formats;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Dataflow;
using EtlStream.Compression;
using EtlStream.Formats.Csv;
using EtlStream.Observability;
using Microsoft.Extensions.Logging;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Pipeline;

public sealed partial class LoadPipeline
{
    /// <summary>
    /// <c>schema_drift: evolve</c>: reads every file's header first (one more open per file, header only) and adds
    /// each source column the spec does not read as an optional nullable string column, in first-seen order, so the
    /// sink can add it to the table before the first row.
    /// </summary>
    private async Task<TableSpec> EvolveAsync(SourceFile[] files, TableSpec spec, CancellationToken token)
    {
        var columns = spec.Columns.ToList();
        var known = new HashSet<string>(columns.Where(c => c.Computed is null).Select(c => c.SourceName), StringComparer.Ordinal);
        var names = new HashSet<string>(columns.Select(c => c.Name), StringComparer.OrdinalIgnoreCase);
        await foreach (var (entry, header, _) in HeadersAsync(files, files.Length, spec, spec.Decompression ?? _options.DecompressionLimits, token).ConfigureAwait(false))
        {
            // Fields no column reads yet, by binding (not by name): a header repeated or differing only in case is a
            // field of its own. Empty headers stay unread, as before.
            var resolved = CsvHeader.Resolve(header);
            foreach (var (index, source) in TableTransform.UnreadFields(columns, resolved))
            {
                if (resolved.Raw[index].Length == 0 || !known.Add(source))
                {
                    continue;
                }

                var name = source;
                for (var n = 2; !names.Add(name); n++)
                {
                    name = $"{source}_{n}";
                }

                columns.Add(new ColumnSpec { Name = name, Type = ColumnType.String, Source = source, Optional = true, Trim = columns.Any(c => c.Trim) });
                LogEvolved(_logger, entry, PrintableText.Escape(name));
            }
        }

        return spec with { Columns = columns };
    }

    /// <summary>A spec without columns (or none at all) gets a nullable string column per header of the first file, read with the spec's CSV options.</summary>
    private async Task<TableSpec> InferSpecAsync(SourceFile[] files, TableSpec spec, CancellationToken token)
    {
        if (files.Length == 0)
        {
            throw new ConfigException(["no input files"]);
        }

        await foreach (var (entry, header, types) in HeadersAsync(files, 1, spec, spec.Decompression ?? _options.DecompressionLimits, token).ConfigureAwait(false))
        {
            if (header.Count > 0)
            {
                // A typed format's columns keep their types (a Parquet int64 stays int64); text gives strings.
                return spec.WithColumnsFrom(header, types is not null ? $"{entry}'s schema" : spec.Csv.HasHeader ? $"{entry}'s header" : $"{entry} (no header: columns named by position)", types);
            }
        }

        throw new SourceSchemaException(files[0].Name, "the first file has no header to name the columns from; pass --table");
    }

    /// <summary>
    /// Each entry's header, file by file (the first <paramref name="count"/> files), reading no further than the
    /// header (an empty entry gives an empty one). A read-once file in <paramref name="files"/> is replaced by one
    /// that reads again what the header took, then the rest: a pipe or FIFO is never opened twice.
    /// </summary>
    private async IAsyncEnumerable<(string Entry, IReadOnlyList<string> Header, IReadOnlyList<ColumnType?>? Types)> HeadersAsync(
        SourceFile[] files, int count, TableSpec spec, DecompressionLimits limits, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token)
    {
        for (var i = 0; i < count; i++)
        {
            var file = files[i];
            var raw = await file.Open(token).ConfigureAwait(false);
            if (file.ReadOnce)
            {
                var replay = new ReplayReadStream(raw, file.Name, Math.Max(spec.Csv.MaxRecordBytes, 1L << 20));
                files[i] = file with { Open = _ => ValueTask.FromResult(replay.Replay()) };
                raw = replay;
            }

            await using (raw.ConfigureAwait(false))
            {
                await foreach (var entry in Decompression.OpenAsync(raw, file.Name, limits, token).ConfigureAwait(false))
                {
                    await using (entry.ConfigureAwait(false))
                    {
                        var (format, input) = await InputFormats.ChooseAsync(entry.Stream, spec, token).ConfigureAwait(false);
                        using var parser = format.Open(input, entry.Name, spec, LocalPathOf(file, entry));
                        var header = await parser.ReadHeaderAsync(token).ConfigureAwait(false);
                        yield return (entry.Name, header, parser.HeaderTypes);
                    }
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: new column {Column} added to the table (schema_drift: evolve)")]
    private static partial void LogEvolved(ILogger logger, string file, string column);
}
