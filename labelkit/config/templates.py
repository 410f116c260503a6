"""Starter label configs for new projects, each with a sample task to preview it on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    group: str
    description: str
    config: str
    sample: dict = field(default_factory=dict)


TEMPLATES: list[Template] = [
    Template(
        key="text-classification",
        title="Text classification",
        group="Text",
        description="Put each text into one category.",
        config="""<View>
  <Text name="text" value="$text"/>
  <Choices name="category" toName="text" choice="single" showInline="true" required="true">
    <Choice value="Sports" hotkey="1"/>
    <Choice value="Politics" hotkey="2"/>
    <Choice value="Technology" hotkey="3"/>
    <Choice value="Other" hotkey="4"/>
  </Choices>
</View>""",
        sample={"text": "The new phone ships with a faster chip and a bigger battery."},
    ),
    Template(
        key="sentiment",
        title="Sentiment with a comment",
        group="Text",
        description="Positive, negative or neutral, and a free-text reason.",
        config="""<View>
  <Header value="What is the sentiment of this review?"/>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single" showInline="true" required="true">
    <Choice value="Positive" hotkey="1"/>
    <Choice value="Negative" hotkey="2"/>
    <Choice value="Neutral" hotkey="3"/>
  </Choices>
  <TextArea name="comment" toName="text" placeholder="Why? (optional)" rows="2"/>
</View>""",
        sample={"text": "Great food, but we waited forty minutes for a table."},
    ),
    Template(
        key="image-classification",
        title="Image classification",
        group="Images",
        description="Pick the class that fits each image.",
        config="""<View>
  <Image name="image" value="$image" maxWidth="800px"/>
  <Choices name="class" toName="image" choice="single" showInline="true" required="true">
    <Choice value="Circle" hotkey="1"/>
    <Choice value="Square" hotkey="2"/>
    <Choice value="Triangle" hotkey="3"/>
    <Choice value="Other" hotkey="4"/>
  </Choices>
</View>""",
        sample={"image": "/data/upload/samples/shape-1.png"},
    ),
    Template(
        key="multi-label",
        title="Multi-label tagging",
        group="Text",
        description="Tag each text with every label that applies.",
        config="""<View>
  <Text name="text" value="$text"/>
  <Choices name="tags" toName="text" choice="multiple" showInline="true">
    <Choice value="Question"/>
    <Choice value="Complaint"/>
    <Choice value="Praise"/>
    <Choice value="Bug report"/>
    <Choice value="Feature request"/>
  </Choices>
</View>""",
        sample={"text": "The export keeps crashing, can you add a retry button?"},
    ),
    Template(
        key="image-tagging",
        title="Image tagging and quality",
        group="Images",
        description="Tag what an image shows and rate its quality.",
        config="""<View>
  <Image name="image" value="$image" maxWidth="800px"/>
  <Choices name="tags" toName="image" choice="multiple" showInline="true">
    <Choice value="Person"/>
    <Choice value="Vehicle"/>
    <Choice value="Animal"/>
    <Choice value="Building"/>
  </Choices>
  <Rating name="quality" toName="image" maxRating="5"/>
</View>""",
        sample={"image": "/data/upload/samples/shape-1.png"},
    ),
    Template(
        key="text-rating",
        title="Answer quality rating",
        group="Text",
        description="Rate a model's answer to a question and say what is wrong with it.",
        config="""<View>
  <Header value="Question"/>
  <Text name="question" value="$question"/>
  <Header value="Answer"/>
  <Text name="answer" value="$answer"/>
  <Rating name="quality" toName="answer" maxRating="5" required="true"/>
  <Choices name="issues" toName="answer" choice="multiple" showInline="true">
    <Choice value="Wrong"/>
    <Choice value="Incomplete"/>
    <Choice value="Off-topic"/>
    <Choice value="Unsafe"/>
  </Choices>
  <TextArea name="notes" toName="answer" placeholder="Notes" rows="2"/>
</View>""",
        sample={"question": "How long does light take from the Sun to Earth?", "answer": "About eight minutes."},
    ),
]


def template(key: str) -> Template:
    for t in TEMPLATES:
        if t.key == key:
            return t
    raise KeyError(key)
