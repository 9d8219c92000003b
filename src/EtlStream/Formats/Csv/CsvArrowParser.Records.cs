using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using EtlStream.Memory;

namespace EtlStream.Formats.Csv;

public sealed partial class CsvArrowParser
{
    /// <summary>
    /// Parses whole records from the buffer until the batch holds <paramref name="maxRows"/> rows. Returns false
    /// when the buffer ends inside a record and more input is needed; that record is rolled back and re-parsed.
    /// </summary>
    private bool ParseRecords(int maxRows, bool firstRecord = false)
    {
        var span = _buffer.AsSpan(0, _end);
        var pos = _pos;
        var needMore = false;
        while (_rows < maxRows && pos < span.Length)
        {
            var recordStart = pos;

            // A blank line holds no record; skip it.
            var b0 = span[pos];
            if (b0 == (byte)'\n')
            {
                pos++;
                _line++;
                continue;
            }

            if (b0 == (byte)'\r')
            {
                if (pos + 1 >= span.Length && !_eof)
                {
                    needMore = true;
                    break;
                }

                pos += pos + 1 < span.Length && span[pos + 1] == (byte)'\n' ? 2 : 1;
                _line++;
                continue;
            }

            var status = ParseRecord(span, ref pos, firstRecord, out var lineBreaks);
            if (status == RecordStatus.Full)
            {
                RollBack();
                pos = recordStart;
                _full = true;
                break;
            }

            if (status == RecordStatus.NeedMore)
            {
                RollBack();
                pos = recordStart;
                needMore = true;
                break;
            }

            // A record that would take the batch past batch_bytes starts the next one, unless the batch is empty:
            // then it is a batch of its own (bounded by max_record_bytes). Re-parsed once per batch, at its boundary.
            var bytes = pos - recordStart;
            if (_rows > 0 && _batchBytes + bytes + ((_rows + 2) * _rowBytes) > _options.BatchBytes)
            {
                RollBack();
                pos = recordStart;
                _full = true;
                break;
            }

            CommitRow(lineBreaks, bytes);
        }

        _consumedBytes += pos - _pos;
        _pos = pos;
        return !needMore;
    }

    private enum RecordStatus
    {
        Complete,
        NeedMore,

        /// <summary>A long field would take the batch past batch_bytes: the record starts the next batch, not appended first.</summary>
        Full,
    }

    /// <summary>Fields at least this long are checked against the batch's bytes before they are appended.</summary>
    private const int LongFieldBytes = 64 * 1024;

    /// <summary>
    /// True when a field ending at <paramref name="fieldEnd"/> would take a non-empty batch past batch_bytes. Checked
    /// before a long field is appended: appended first and rolled back, a 40 MB record grew its column to 80 MB.
    /// </summary>
    private bool WouldOverflow(int recordStart, int fieldEnd) =>
        _rows > 0 && _batchBytes + (fieldEnd - recordStart) + ((_rows + 2) * _rowBytes) > _options.BatchBytes;

    private RecordStatus ParseRecord(ReadOnlySpan<byte> span, ref int pos, bool firstRecord, out int lineBreaks)
    {
        lineBreaks = 0;
        var field = 0;
        var p = pos;
        var columns = _columns;
        var row = _rows;
        while (true)
        {
            if (field >= columns.Length)
            {
                AddColumn(field, firstRecord);
                columns = _columns;
            }

            var column = columns[field];
            if (p < span.Length && span[p] == _quote)
            {
                p++;
                while (true)
                {
                    var q = span[p..].IndexOf(_quote);
                    if (q < 0)
                    {
                        if (!_eof)
                        {
                            return RecordStatus.NeedMore;
                        }

                        throw Error(field, "unterminated quoted field (a quote opened here is never closed)", lineBreaks);
                    }

                    var chunk = span.Slice(p, q);
                    if (q >= LongFieldBytes && WouldOverflow(pos, p + q))
                    {
                        return RecordStatus.Full;
                    }

                    lineBreaks += chunk.Count((byte)'\n');
                    column.Append(chunk);
                    p += q + 1;
                    if (p < span.Length && span[p] == _quote)
                    {
                        column.Append(_quote);
                        p++;
                        continue;
                    }

                    if (p >= span.Length && !_eof)
                    {
                        return RecordStatus.NeedMore;
                    }

                    break;
                }

                column.EndValue(row, isNull: false);
                if (p < span.Length)
                {
                    var after = span[p];
                    if (after != _delimiter && after != (byte)'\n' && after != (byte)'\r')
                    {
                        throw Error(field, $"unexpected character '{Printable(after)}' after a closing quote (a quote inside a field must be doubled)", lineBreaks);
                    }
                }
            }
            else
            {
                var rest = span[p..];
                var e = rest.IndexOfAny(_fieldEnds);
                if (e < 0)
                {
                    if (!_eof)
                    {
                        return RecordStatus.NeedMore;
                    }

                    e = rest.Length;
                }

                var value = rest[..e];
                if (e >= LongFieldBytes && WouldOverflow(pos, p + e))
                {
                    return RecordStatus.Full;
                }

                column.Append(value);
                column.EndValue(row, IsNullToken(value));
                p += e;
            }

            if (p >= span.Length)
            {
                // Only reachable at the end of input: the last record has no line break.
                pos = p;
                return EndRecord(field);
            }

            var b = span[p];
            if (b == _delimiter)
            {
                p++;
                field++;
                continue;
            }

            if (b == (byte)'\r')
            {
                if (p + 1 >= span.Length && !_eof)
                {
                    return RecordStatus.NeedMore;
                }

                p += p + 1 < span.Length && span[p + 1] == (byte)'\n' ? 2 : 1;
            }
            else
            {
                p++; // '\n'
            }

            pos = p;
            return EndRecord(field);
        }
    }

    private RecordStatus EndRecord(int lastField)
    {
        var fields = lastField + 1;
        if (_header is not null && fields != _columns.Length)
        {
            // Named by the line the record starts on: that is where a reader looks for a ragged row.
            throw Error(fields - 1, $"expected {_columns.Length} fields, found {fields}", 0);
        }

        return RecordStatus.Complete;
    }

    /// <summary>The first record adds a column per field; any later record with more fields is ragged.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddColumn(int field, bool firstRecord)
    {
        if (!firstRecord || _header is not null)
        {
            throw Error(field, $"expected {_columns.Length} fields, found more", 0, _columns.Length + 1);
        }

        if (_columns.Length >= _options.MaxColumns)
        {
            throw Error(field, $"more than {_options.MaxColumns:N0} fields (max_columns)", 0, _options.MaxColumns + 1);
        }

        // Copying the array per column is quadratic, but only up to max_columns and only for the first record.
        _columns = [.. _columns, new ColumnBuilder(1, 256)];
    }

    private bool IsNullToken(ReadOnlySpan<byte> value)
    {
        if (value.Length == 0)
        {
            return _emptyIsNull;
        }

        foreach (var t in _nullTokens)
        {
            if (value.SequenceEqual(t))
            {
                return true;
            }
        }

        return false;
    }

    private CsvFormatException Error(int field, string reason, int lineBreaks, int? column = null) =>
        new(_source, _line + lineBreaks, column ?? field + 1, reason);

    private static string Printable(byte b) => b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"0x{b:X2}";
}
