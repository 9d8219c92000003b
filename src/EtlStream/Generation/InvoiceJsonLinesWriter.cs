using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using EtlStream.Formats;
using EtlStream.Formats.Csv;

namespace EtlStream.Generation;

/// <summary>
/// The JSON Lines form of the standard job's input (STANDARD_JOB.md): the CSV rows of the same seed, parsed back by
/// the CSV reader and written one nested object per line, so the JSON job loads exactly the CSV job's values.
/// </summary>
internal sealed class InvoiceJsonLinesWriter
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private readonly ArrayBufferWriter<byte> _out = new(1 << 20);
    private readonly Utf8JsonWriter _json;

    public InvoiceJsonLinesWriter()
    {
        _json = new Utf8JsonWriter(_out, WriterOptions);
    }

    /// <summary>Parses <paramref name="csv"/> (header and whole rows) and writes its rows as JSON lines to <paramref name="output"/>.</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> csv, Stream output, CancellationToken cancellationToken)
    {
        using var parser = new CsvArrowParser(new MemoryStream(csv.ToArray(), writable: false), "generated.csv");
        await parser.ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
        while (await parser.ReadBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
        {
            using (batch)
            {
                for (var row = 0; row < batch.RowCount; row++)
                {
                    WriteRow(batch, row);
                }
            }

            await output.WriteAsync(_out.WrittenMemory, cancellationToken).ConfigureAwait(false);
            _out.ResetWrittenCount();
        }
    }

    private void WriteRow(TextBatch b, int row)
    {
        var j = _json;
        j.Reset();
        j.WriteStartObject();
        j.WriteStartObject("invoice"u8);
        Text(b, row, 0, "no"u8);
        Text(b, row, 1, "date"u8);
        Text(b, row, 18, "created_at"u8);
        Text(b, row, 19, "remarks"u8);
        Text(b, row, 20, "batch_no"u8);
        j.WriteBoolean("is_return"u8, b.Data(21).Value(row).SequenceEqual("TRUE"u8));
        j.WriteEndObject();
        j.WriteStartObject("dealer"u8);
        Text(b, row, 2, "code"u8);
        Text(b, row, 3, "name"u8);
        Text(b, row, 4, "territory"u8);
        Text(b, row, 5, "region"u8);
        j.WriteEndObject();
        j.WriteStartObject("product"u8);
        Text(b, row, 6, "code"u8);
        Text(b, row, 7, "name"u8);
        Text(b, row, 8, "category"u8);
        j.WriteEndObject();
        Number(b, row, 9, "qty"u8);
        Number(b, row, 10, "unit_price"u8);
        Number(b, row, 11, "discount_pct"u8);
        Number(b, row, 12, "net_amount"u8);
        Number(b, row, 13, "tax_amount"u8);
        Number(b, row, 14, "gross_amount"u8);
        Text(b, row, 15, "currency"u8);
        if (b.Data(16).IsNull(row))
        {
            j.WriteNull("salesman"u8);
        }
        else
        {
            j.WriteStartObject("salesman"u8);
            Text(b, row, 16, "code"u8);
            j.WriteEndObject();
        }

        j.WriteBoolean("active"u8, b.Data(17).Value(row).SequenceEqual("Y"u8));
        j.WriteStartArray("tags"u8);
        if (!IsZero(b.Data(11).Value(row)))
        {
            j.WriteStringValue("promo"u8);
            j.WriteStringValue(b.Data(8).Value(row));
        }

        j.WriteEndArray();
        j.WriteEndObject();
        j.Flush();
        _out.GetSpan(1)[0] = (byte)'\n';
        _out.Advance(1);
    }

    private void Text(TextBatch b, int row, int column, ReadOnlySpan<byte> name)
    {
        ref readonly var data = ref b.Data(column);
        if (data.IsNull(row))
        {
            _json.WriteNull(name);
        }
        else
        {
            _json.WriteString(name, data.Value(row));
        }
    }

    /// <summary>A CSV decimal as a JSON number in its shortest form: <c>47704.60</c> → <c>47704.6</c>, <c>12.00</c> → <c>12</c>.</summary>
    private void Number(TextBatch b, int row, int column, ReadOnlySpan<byte> name)
    {
        var text = b.Data(column).Value(row);
        if (text.IndexOf((byte)'.') >= 0)
        {
            text = text.TrimEnd((byte)'0').TrimEnd((byte)'.');
        }

        if (text is [(byte)'-', (byte)'0'])
        {
            text = "0"u8;
        }

        _json.WritePropertyName(name);
        _json.WriteRawValue(text, skipInputValidation: true);
    }

    private static bool IsZero(ReadOnlySpan<byte> text) => text.IndexOfAnyExcept("0."u8) < 0;
}
