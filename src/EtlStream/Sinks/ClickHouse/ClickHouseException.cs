using System.Net;

namespace EtlStream.Sinks.ClickHouse;

/// <summary>ClickHouse refused a statement: its HTTP status and its own error text (which never holds the password).</summary>
public sealed class ClickHouseException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
}
