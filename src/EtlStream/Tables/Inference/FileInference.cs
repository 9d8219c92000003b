using EtlStream.Compression;
using EtlStream.Formats;
using EtlStream.Formats.Csv;
using EtlStream.Sources;

namespace EtlStream.Tables.Inference;

/// <summary>
/// A starter table spec for a file: opened as the load opens it (decompressed by its magic bytes, the first entry of
/// an archive, the format recognised from its content), the CSV dialect detected (<see cref="CsvDialectSniffer"/>),
/// then the first records sampled (<see cref="SpecInference"/>).
/// </summary>
public static class FileInference
{
    public static async Task<InferredSpec> InferAsync(SourceFile file, int sampleRows, string? tableName, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleRows, 1);
        var raw = await file.Open(cancellationToken).ConfigureAwait(false);
        await using (raw.ConfigureAwait(false))
        {
            await foreach (var entry in Decompression.OpenAsync(raw, file.Name, DecompressionLimits.Default, cancellationToken).ConfigureAwait(false))
            {
                await using (entry.ConfigureAwait(false))
                {
                    return await InferEntryAsync(file, entry, sampleRows, tableName ?? TableNames.FromFileName(file.Name), cancellationToken).ConfigureAwait(false);
                }
            }
        }

        throw new InvalidDataException($"{file.Name}: the archive holds no file: there is nothing to infer a spec from");
    }

    private static async Task<InferredSpec> InferEntryAsync(SourceFile file, DecompressedEntry entry, int sampleRows, string tableName, CancellationToken cancellationToken)
    {
        var input = new PeekableReadStream(entry.Stream, CsvDialectSniffer.PrefixBytes);
        var head = await input.PeekAsync(CsvDialectSniffer.PrefixBytes, cancellationToken).ConfigureAwait(false);
        if (head.Length == 0)
        {
            throw new InvalidDataException($"{entry.Name}: the file is empty: there is nothing to infer a spec from");
        }

        var format = InputFormats.Recognize(head.Span[..Math.Min(head.Length, InputFormats.HeadBytes)]);
        var spec = new TableSpec { Name = tableName, Columns = [] };
        var notes = new List<string>();
        if (format is CsvFormat)
        {
            var complete = head.Length < CsvDialectSniffer.PrefixBytes;
            var (dialect, note) = await CsvDialectSniffer.SniffAsync(head, complete, entry.Name, cancellationToken).ConfigureAwait(false);
            if (note is not null)
            {
                notes.Add(note);
            }

            // Batches no larger than the sample: the reader parses no more than it must.
            spec = spec with { Csv = dialect with { BatchRows = Math.Min(sampleRows, CsvOptions.Default.BatchRows) } };
        }
        else
        {
            spec = spec with { Format = format.Kind };
        }

        InferredTable table;
        using (var reader = format.Open(input, entry.Name, spec))
        {
            table = await SpecInference.InferAsync(reader, sampleRows, cancellationToken).ConfigureAwait(false);
        }

        if (table.Header.Count == 0)
        {
            throw new InvalidDataException($"{entry.Name}: no records: there is nothing to infer a spec from");
        }

        if (table.RowsSampled == 0)
        {
            notes.Add("no rows below the header: every column is a nullable string");
        }

        var columns = table.ToColumnSpecs(nestedPaths: format is not CsvFormat);
        spec = spec with { Columns = columns, Csv = spec.Csv with { BatchRows = CsvOptions.Default.BatchRows } };
        return new InferredSpec(spec, file.Name, entry.Name, format.Kind, table.RowsSampled, table.Columns, notes);
    }
}

/// <summary>A spec inferred from a file, with what the YAML says about how: the file, the rows sampled, notes.</summary>
/// <param name="Columns">What the sample said about each of <see cref="Spec"/>'s columns, in the same order.</param>
/// <param name="Notes">Remarks on the whole file (how its header was decided).</param>
public sealed record InferredSpec(TableSpec Spec, string File, string Entry, string Format, long RowsSampled, IReadOnlyList<InferredColumn> Columns, IReadOnlyList<string> Notes);
