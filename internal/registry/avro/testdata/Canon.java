// Prints Avro Java's Schema.toString (what Confluent stores as a schema's canonical text) for each
// schema read from standard input, one a line, or "ERROR: ..." when Avro does not parse it. Used by
// TestCanonicalAgainstJavaAvro.
import java.io.*;
import org.apache.avro.Schema;
public class Canon {
  public static void main(String[] a) throws Exception {
    BufferedReader r = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    PrintStream out = new PrintStream(System.out, true, "UTF-8");
    String line;
    while ((line = r.readLine()) != null) {
      try {
        Schema.Parser p = new Schema.Parser();
        p.setValidateDefaults(true);
        out.println(p.parse(line).toString());
      } catch (Throwable e) {
        out.println("ERROR: " + String.valueOf(e.getMessage()).replace("\n", " "));
      }
    }
  }
}
